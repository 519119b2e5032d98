package terminal

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/prom"
)

// Subprotocol is what browsers offer first in Sec-WebSocket-Protocol,
// followed by the terminal token; the server answers with it.
const Subprotocol = "bearer"

// Control frames, sent as websocket text messages.
type (
	// Ready says the shell is starting; bytes may flow.
	Ready struct {
		Type string `json:"type"` // "session_ready"
	}
	// Error says why the session could not start or ended abnormally.
	Error struct {
		Type    string `json:"type"` // "session_error"
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	// Closed says the shell exited.
	Closed struct {
		Type     string `json:"type"` // "session_closed"
		ExitCode int    `json:"exit_code"`
	}
	// Resize is the client's new window size.
	Resize struct {
		Type string `json:"type"` // "resize"
		Cols int    `json:"cols"`
		Rows int    `json:"rows"`
	}
	// StdinEOF is the client's end of input (no-PTY sessions only); its
	// Type is "stdin_eof".
	StdinEOF struct {
		Type string `json:"type"`
	}
)

// Channels prefix every binary message from the server in a no-PTY session
// (header X-Gpuaas-Terminal-Pty: 0): one byte, then the payload.
const (
	ChannelStdout byte = 1
	ChannelStderr byte = 2
)

// Limits bound one session; zero means no limit.
type Limits struct {
	Idle time.Duration // no bytes either way for this long ends it
	Max  time.Duration // total length
}

// Result is how a session went, for the audit log. The content is never kept.
type Result struct {
	BytesIn  int64 // client → shell
	BytesOut int64 // shell → client
	ExitCode *int  // nil when the shell's exit was not seen
	Reason   string
}

// SendError writes a session_error frame and closes c.
func SendError(ctx context.Context, c *websocket.Conn, code, msg string) {
	sendLast(ctx, c, Error{Type: "session_error", Code: code, Message: msg}, code)
}

// sendLast writes the control frame v, giving a slow client 5 s, and
// closes c normally with reason.
func sendLast(ctx context.Context, c *websocket.Conn, v any, reason string) {
	b, _ := json.Marshal(v)
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_ = c.Write(wctx, websocket.MessageText, b)
	_ = c.Close(websocket.StatusNormalClosure, reason)
}

// Sessions runs terminal sessions under one set of limits and counts them
// for /metrics.
type Sessions struct {
	lim         Limits
	open        prometheus.Gauge
	ended       *prometheus.CounterVec
	bytes       *prometheus.CounterVec
	messages    *prometheus.CounterVec
	writeErrors prometheus.Counter
}

// NewSessions returns Sessions with lim; reg may be nil.
func NewSessions(lim Limits, reg prometheus.Registerer) *Sessions {
	return &Sessions{
		lim: lim,
		open: prom.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gpuaas_terminal_sessions",
			Help: "Terminal websockets open on this replica.",
		})),
		ended: prom.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gpuaas_terminal_sessions_ended_total",
			Help: "Terminal sessions ended, by reason (exited, client_gone, idle_timeout, max_session, agent_disconnected, ...).",
		}, []string{"reason"})),
		bytes: prom.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gpuaas_terminal_bytes_total",
			Help: "Terminal bytes forwarded, by direction (in: client to shell, out: shell to client).",
		}, []string{"direction"})),
		messages: prom.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gpuaas_terminal_messages_total",
			Help: "Terminal websocket messages forwarded, by direction.",
		}, []string{"direction"})),
		writeErrors: prom.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gpuaas_terminal_write_errors_total",
			Help: "Writes to a terminal websocket that failed (the client went away mid-stream).",
		})),
	}
}

// Proxy runs a session between the websocket c and the agent stream (whose
// header was already sent) until the shell exits, either side goes away or
// a limit is hit. It closes both.
func (s *Sessions) Proxy(ctx context.Context, c *websocket.Conn, stream net.Conn) Result {
	return s.run(ctx, c, stream, false)
}

// ProxyPipes is Proxy for a session whose header asked for no PTY
// (TerminalHeader.NoPTY): binary messages to the client carry a channel
// byte (ChannelStdout, ChannelStderr) before the payload, and the client's
// stdin_eof closes the command's stdin. An agent too old for NoPTY runs a
// PTY anyway: its output all goes to ChannelStdout and stdin_eof becomes a
// ^D typed into the PTY.
func (s *Sessions) ProxyPipes(ctx context.Context, c *websocket.Conn, stream net.Conn) Result {
	return s.run(ctx, c, stream, true)
}

func (s *Sessions) run(ctx context.Context, c *websocket.Conn, stream net.Conn, pipes bool) Result {
	s.open.Inc()
	defer s.open.Dec()
	res := s.proxy(ctx, c, stream, pipes)
	s.ended.WithLabelValues(res.Reason).Inc()
	return res
}

// stdinEOF forwards a no-PTY client's stdin_eof once the agent has shown
// whether it honoured NoPTY: as FrameStdinEOF when it did (FramePipes), as
// a ^D when its first output came without FramePipes (an older agent, so a
// PTY). Until then the EOF waits; input before it was already written.
type stdinEOF struct {
	mu        sync.Mutex
	fw        *agentproto.FrameWriter
	mode      int // 0 unknown, modePipes, modePTY
	requested bool
	sent      bool
}

const (
	modePipes = 1
	modePTY   = 2
)

func (e *stdinEOF) request() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.requested = true
	return e.flush()
}

func (e *stdinEOF) learn(mode int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.mode != 0 {
		return nil
	}
	e.mode = mode
	return e.flush()
}

func (e *stdinEOF) flush() error {
	if !e.requested || e.sent || e.mode == 0 {
		return nil
	}
	e.sent = true
	if e.mode == modePTY {
		return e.fw.WriteFrame(agentproto.FrameData, []byte{4}) // ^D: EOF to a PTY's line discipline
	}
	return e.fw.WriteFrame(agentproto.FrameStdinEOF, nil)
}

func (s *Sessions) proxy(ctx context.Context, c *websocket.Conn, stream net.Conn, pipes bool) Result {
	lim := s.lim
	inBytes, outBytes := s.bytes.WithLabelValues("in"), s.bytes.WithLabelValues("out")
	inMsgs, outMsgs := s.messages.WithLabelValues("in"), s.messages.WithLabelValues("out")
	defer stream.Close()
	// The caller's ctx ending (server shutdown) ends the session with a
	// session_error frame; reads and writes run on a context of their own,
	// because coder/websocket closes the connection when the context of a
	// read is cancelled, and the client would then get no reason.
	stop := ctx.Done()
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	var maxC <-chan time.Time
	if lim.Max > 0 {
		t := time.NewTimer(lim.Max)
		defer t.Stop()
		maxC = t.C
	}
	var in, out atomic.Int64
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	touch := func() { last.Store(time.Now().UnixNano()) }
	text := func(v any) error {
		b, _ := json.Marshal(v)
		return c.Write(ctx, websocket.MessageText, b)
	}
	if err := text(Ready{Type: "session_ready"}); err != nil {
		_ = c.CloseNow()
		return Result{Reason: "client_gone"}
	}
	fw := agentproto.NewFrameWriter(stream)
	eof := &stdinEOF{fw: fw}

	// Client → agent.
	clientDone := make(chan struct{})
	go func() {
		defer close(clientDone)
		buf := make([]byte, 32<<10)
		for {
			typ, b, err := readMessage(ctx, c, buf)
			if err != nil {
				return
			}
			switch typ {
			case websocket.MessageBinary:
				if len(b) == 0 {
					continue
				}
				touch()
				in.Add(int64(len(b)))
				inBytes.Add(float64(len(b)))
				inMsgs.Inc()
				if fw.WriteFrame(agentproto.FrameData, b) != nil {
					return
				}
			case websocket.MessageText:
				var r Resize
				if json.Unmarshal(b, &r) != nil {
					continue
				}
				switch {
				case r.Type == "resize" && r.Cols > 0 && r.Rows > 0:
					p, _ := json.Marshal(agentproto.TerminalSize{Cols: r.Cols, Rows: r.Rows})
					if fw.WriteFrame(agentproto.FrameResize, p) != nil {
						return
					}
				case r.Type == "stdin_eof" && pipes:
					if eof.request() != nil {
						return
					}
				}
			}
		}
	}()

	// Agent → client.
	type ending struct {
		exit *int
		err  *agentproto.TerminalError
	}
	agentDone := make(chan ending, 1)
	go func() {
		for {
			kind, p, err := agentproto.ReadFrame(stream)
			if err != nil {
				msg := "the node's agent went away"
				if !errors.Is(err, io.EOF) {
					msg += ": " + err.Error()
				}
				agentDone <- ending{err: &agentproto.TerminalError{Code: "agent_disconnected", Message: msg}}
				return
			}
			switch kind {
			case agentproto.FrameData, agentproto.FrameStderr:
				touch()
				out.Add(int64(len(p)))
				outBytes.Add(float64(len(p)))
				outMsgs.Inc()
				msg := p
				if pipes {
					if kind == agentproto.FrameData {
						_ = eof.learn(modePTY) // no-op once FramePipes came
					}
					ch := ChannelStdout
					if kind == agentproto.FrameStderr {
						ch = ChannelStderr
					}
					msg = append(append(make([]byte, 0, 1+len(p)), ch), p...)
				}
				if c.Write(ctx, websocket.MessageBinary, msg) != nil {
					s.writeErrors.Inc()
					agentDone <- ending{}
					return
				}
			case agentproto.FramePipes:
				_ = eof.learn(modePipes)
			case agentproto.FrameExit:
				var e agentproto.TerminalExit
				_ = json.Unmarshal(p, &e)
				agentDone <- ending{exit: &e.ExitCode}
				return
			case agentproto.FrameError:
				var e agentproto.TerminalError
				_ = json.Unmarshal(p, &e)
				if e.Code == "" {
					e.Code = "agent_error"
				}
				agentDone <- ending{err: &e}
				return
			}
		}
	}()

	var idleC <-chan time.Time
	if lim.Idle > 0 {
		tick := time.NewTicker(min(lim.Idle/4+time.Millisecond, 10*time.Second))
		defer tick.Stop()
		idleC = tick.C
	}
	res := Result{}
	var once sync.Once
	finish := func(code, msg string) {
		once.Do(func() {
			res.Reason = code
			stream.Close()
			SendError(context.WithoutCancel(ctx), c, code, msg)
		})
	}
loop:
	for {
		select {
		case e := <-agentDone:
			switch {
			case e.exit != nil:
				res.ExitCode, res.Reason = e.exit, "exited"
				sendLast(context.WithoutCancel(ctx), c, Closed{Type: "session_closed", ExitCode: *e.exit}, "")
			case e.err != nil:
				finish(e.err.Code, e.err.Message)
			default:
				res.Reason = "client_gone"
				_ = c.CloseNow()
			}
			break loop
		case <-clientDone:
			res.Reason = "client_gone"
			_ = c.CloseNow()
			break loop
		case <-maxC:
			finish("max_session", "the session reached its maximum length")
			break loop
		case <-idleC:
			if time.Since(time.Unix(0, last.Load())) >= lim.Idle {
				finish("idle_timeout", "the session was idle too long")
				break loop
			}
		case <-stop:
			finish("shutting_down", "the server is shutting down")
			break loop
		}
	}
	res.BytesIn, res.BytesOut = in.Load(), out.Load()
	return res
}

// readMessage reads one message into buf when it fits (the common case for
// keystrokes and pastes), so the hot path does not allocate; a larger one
// (up to the conn's read limit) gets a buffer of its own.
func readMessage(ctx context.Context, c *websocket.Conn, buf []byte) (websocket.MessageType, []byte, error) {
	typ, r, err := c.Reader(ctx)
	if err != nil {
		return 0, nil, err
	}
	n, err := io.ReadFull(r, buf)
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return typ, buf[:n], nil
	case err != nil:
		return 0, nil, err
	}
	rest, err := io.ReadAll(r)
	if err != nil {
		return 0, nil, err
	}
	return typ, append(append(make([]byte, 0, n+len(rest)), buf[:n]...), rest...), nil
}
