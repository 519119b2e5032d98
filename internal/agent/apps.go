package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/agent/runtime/docker"
	"github.com/gpuaas/gpuaas/internal/agentproto"
)

// appDialer is a runtime whose workloads serve ports that the control
// plane's app proxy reaches through this agent.
type appDialer interface {
	// DialApp connects to port (inside the workload) of allocation id.
	// ErrAppNotFound: no such workload or port here; any other error: it
	// is there but does not answer.
	DialApp(ctx context.Context, id uuid.UUID, port int) (net.Conn, error)
}

// ErrAppNotFound is a DialApp answer: this node runs no such app.
var ErrAppNotFound = errors.New("no such app on this node")

// appDialTimeout bounds the connect to a workload's port: an app that does
// not accept in this long is reported as unavailable, not waited for.
const appDialTimeout = 3 * time.Second

// serveApp answers a StreamApp: it connects to the workload's port and
// then copies bytes both ways until either side ends.
func serveApp(ctx context.Context, stream net.Conn, raw []byte, rt NodeRuntime) {
	var h agentproto.AppHeader
	reply := func(r agentproto.StreamReply) error {
		b, _ := json.Marshal(r)
		_, err := stream.Write(append(b, '\n'))
		return err
	}
	err := json.Unmarshal(raw, &h)
	id, perr := uuid.Parse(h.AllocationID)
	if err != nil || perr != nil || h.Port < 1 || h.Port > 65535 {
		_ = reply(agentproto.StreamReply{Code: agentproto.StreamNotFound, Message: "malformed app header"})
		return
	}
	d, ok := rt.(appDialer)
	if !ok {
		_ = reply(agentproto.StreamReply{Code: agentproto.StreamUnsupported, Message: "this node's runtime serves no apps"})
		return
	}
	dctx, cancel := context.WithTimeout(ctx, appDialTimeout)
	conn, err := d.DialApp(dctx, id, h.Port)
	cancel()
	switch {
	case errors.Is(err, ErrAppNotFound):
		_ = reply(agentproto.StreamReply{Code: agentproto.StreamNotFound, Message: fmt.Sprintf("allocation %s serves no port %d on this node", id, h.Port)})
		return
	case err != nil:
		_ = reply(agentproto.StreamReply{Code: agentproto.StreamRefused, Message: fmt.Sprintf("port %d is not answering: %v", h.Port, err)})
		return
	}
	defer conn.Close()
	if reply(agentproto.StreamReply{OK: true}) != nil {
		return
	}
	done := make(chan struct{}, 2)
	pipe := func(dst io.Writer, src io.Reader) {
		if _, err := io.Copy(dst, src); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.EOF) {
			slog.Debug("agent: app stream copy", "allocation_id", id, "err", err)
		}
		done <- struct{}{}
	}
	go pipe(conn, stream)
	go pipe(stream, conn)
	<-done // either side ending ends both (the deferred closes)
}

// DialApp implements appDialer: the container's port as the engine
// published it on the loopback, and nothing else.
func (d DockerRuntime) DialApp(ctx context.Context, id uuid.UUID, port int) (net.Conn, error) {
	for try := 0; ; try++ {
		addr, err := d.RT.AppAddr(ctx, id, port)
		if errors.Is(err, docker.ErrNoApp) {
			return nil, ErrAppNotFound
		}
		if err != nil {
			return nil, err
		}
		var dialer net.Dialer
		conn, err := dialer.DialContext(ctx, "tcp", addr)
		if err == nil || try == 1 {
			return conn, err
		}
		// The container may have been made again with another port.
		d.RT.Forget(id)
	}
}

// DialApp implements appDialer over the docker runtime (the process
// runtime's accounts serve no apps; the sim stands in for both).
func (m MultiRuntime) DialApp(ctx context.Context, id uuid.UUID, port int) (net.Conn, error) {
	for _, rt := range []NodeRuntime{m.Docker, m.Process} {
		if d, ok := rt.(appDialer); ok {
			return d.DialApp(ctx, id, port)
		}
	}
	return nil, ErrAppNotFound
}

// DialApp implements appDialer honestly: no container runs, so every
// port of every allocation answers with a page (and a websocket-free
// HTTP server) that says it is simulated.
func (s SimRuntime) DialApp(_ context.Context, id uuid.UUID, port int) (net.Conn, error) {
	simApps.once.Do(func() {
		simApps.l = &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
		go (&http.Server{Handler: http.HandlerFunc(simAppPage), ReadHeaderTimeout: 10 * time.Second}).Serve(simApps.l) //nolint:errcheck // lives as long as the process
	})
	client, server := net.Pipe()
	select {
	case simApps.l.conns <- server:
		return client, nil
	case <-time.After(appDialTimeout):
		client.Close()
		server.Close()
		return nil, errors.New("the simulated app server is busy")
	}
}

var simApps struct {
	once sync.Once
	l    *pipeListener
}

func simAppPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><title>Simulated app</title><h1>Simulated app</h1>
<p>This node is simulated by <code>gpuaas dev</code>: no container runs here, so this page stands in for the app.
It reached you through the control plane's app proxy and the node agent's connection, as a real app would.</p>
<p>Path: <code>%s</code>, prefix: <code>%s</code></p>`, html.EscapeString(r.URL.Path), html.EscapeString(r.Header.Get("X-Forwarded-Prefix")))
}

// pipeListener is a net.Listener fed with in-memory connections.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "sim-apps" }
