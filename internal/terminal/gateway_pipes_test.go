package terminal_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/terminal"
)

// The agent's side here is a scripted peer on a net.Pipe, not a real agent:
// the point is how the gateway treats an agent too old to know NoPTY, which
// this build cannot run. Real agents are exercised in internal/agent.

// gatewayWith serves one websocket session through Sessions.Proxy (or
// ProxyPipes) to the returned agent end, and dials it.
func gatewayWith(t *testing.T, pipes bool) (*websocket.Conn, net.Conn, <-chan terminal.Result) {
	t.Helper()
	gwEnd, agentEnd := net.Pipe()
	sessions := terminal.NewSessions(terminal.Limits{}, nil)
	results := make(chan terminal.Result, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		if pipes {
			results <- sessions.ProxyPipes(r.Context(), c, gwEnd)
		} else {
			results <- sessions.Proxy(r.Context(), c, gwEnd)
		}
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	t.Cleanup(func() { agentEnd.Close() })
	_ = agentEnd.SetDeadline(time.Now().Add(10 * time.Second))
	return c, agentEnd, results
}

func wsRead(t *testing.T, c *websocket.Conn) (websocket.MessageType, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	typ, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read websocket: %v", err)
	}
	return typ, string(b)
}

func wsWrite(t *testing.T, c *websocket.Conn, typ websocket.MessageType, s string) {
	t.Helper()
	if err := c.Write(context.Background(), typ, []byte(s)); err != nil {
		t.Fatal(err)
	}
}

func agentSends(t *testing.T, a net.Conn, kind byte, p string) {
	t.Helper()
	if err := agentproto.NewFrameWriter(a).WriteFrame(kind, []byte(p)); err != nil {
		t.Fatal(err)
	}
}

func agentGets(t *testing.T, a net.Conn, kind byte, p string) {
	t.Helper()
	k, got, err := agentproto.ReadFrame(a)
	if err != nil || k != kind || string(got) != p {
		t.Fatalf("agent got frame %d %q (%v), want %d %q", k, got, err, kind, p)
	}
}

// closing reads the server's close frame, as a client does after
// session_closed, so the close handshake completes.
func closing(t *testing.T, c *websocket.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("after session_closed: %v, want a normal closure", err)
	}
}

func expect(t *testing.T, c *websocket.Conn, typ websocket.MessageType, want string) {
	t.Helper()
	if gotTyp, got := wsRead(t, c); gotTyp != typ || got != want {
		t.Fatalf("client got %v %q, want %v %q", gotTyp, got, typ, want)
	}
}

// TestProxyPipes: with an agent that honoured NoPTY, stdout and stderr
// reach the client behind their channel bytes, and stdin_eof becomes the
// agent's FrameStdinEOF after the input before it.
func TestProxyPipes(t *testing.T) {
	c, a, results := gatewayWith(t, true)
	expect(t, c, websocket.MessageText, `{"type":"session_ready"}`)
	agentSends(t, a, agentproto.FramePipes, "")
	agentSends(t, a, agentproto.FrameData, "out\n")
	agentSends(t, a, agentproto.FrameStderr, "err\n")
	expect(t, c, websocket.MessageBinary, "\x01out\n")
	expect(t, c, websocket.MessageBinary, "\x02err\n")
	wsWrite(t, c, websocket.MessageBinary, "in")
	wsWrite(t, c, websocket.MessageText, `{"type":"stdin_eof"}`)
	agentGets(t, a, agentproto.FrameData, "in")
	agentGets(t, a, agentproto.FrameStdinEOF, "")
	agentSends(t, a, agentproto.FrameExit, `{"exit_code":4}`)
	expect(t, c, websocket.MessageText, `{"type":"session_closed","exit_code":4}`)
	closing(t, c)
	res := <-results
	if res.BytesIn != 2 || res.BytesOut != 8 || res.ExitCode == nil || *res.ExitCode != 4 || res.Reason != "exited" {
		t.Errorf("result %+v, want 2 bytes in, 8 out, exit 4", res)
	}
}

// TestProxyPipesOldAgent: an agent that ignores NoPTY (older than it)
// starts a PTY and never sends FramePipes. The client still gets channel
// frames (all stdout), and its stdin_eof, held until the agent's first
// output shows which kind it is, becomes a ^D for the PTY.
func TestProxyPipesOldAgent(t *testing.T) {
	c, a, results := gatewayWith(t, true)
	expect(t, c, websocket.MessageText, `{"type":"session_ready"}`)
	wsWrite(t, c, websocket.MessageBinary, "a\n")
	wsWrite(t, c, websocket.MessageText, `{"type":"stdin_eof"}`)
	agentGets(t, a, agentproto.FrameData, "a\n")
	agentSends(t, a, agentproto.FrameData, "a\r\n") // the PTY's echo
	agentGets(t, a, agentproto.FrameData, "\x04")
	expect(t, c, websocket.MessageBinary, "\x01a\r\n")
	agentSends(t, a, agentproto.FrameExit, `{"exit_code":0}`)
	expect(t, c, websocket.MessageText, `{"type":"session_closed","exit_code":0}`)
	closing(t, c)
	if res := <-results; res.Reason != "exited" {
		t.Errorf("result %+v", res)
	}
}

// TestProxyPTYUnchanged: a PTY session passes bytes as they are and
// ignores stdin_eof.
func TestProxyPTYUnchanged(t *testing.T) {
	c, a, results := gatewayWith(t, false)
	expect(t, c, websocket.MessageText, `{"type":"session_ready"}`)
	wsWrite(t, c, websocket.MessageText, `{"type":"stdin_eof"}`)
	wsWrite(t, c, websocket.MessageText, `{"type":"resize","cols":90,"rows":20}`)
	wsWrite(t, c, websocket.MessageBinary, "ls\r")
	size, _ := json.Marshal(agentproto.TerminalSize{Cols: 90, Rows: 20})
	agentGets(t, a, agentproto.FrameResize, string(size))
	agentGets(t, a, agentproto.FrameData, "ls\r")
	agentSends(t, a, agentproto.FrameData, "\x01\x02ls\r\n")
	expect(t, c, websocket.MessageBinary, "\x01\x02ls\r\n")
	agentSends(t, a, agentproto.FrameExit, `{"exit_code":1}`)
	expect(t, c, websocket.MessageText, `{"type":"session_closed","exit_code":1}`)
	closing(t, c)
	if res := <-results; res.BytesIn != 3 || res.BytesOut != 6 {
		t.Errorf("result %+v, want 3 bytes in, 6 out", res)
	}
}
