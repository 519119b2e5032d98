package agent_test

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agent"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
)

// cutter is a TCP proxy in front of a server whose connections the test
// can cut, as a server killed and back at once would.
type cutter struct {
	ln       net.Listener
	mu       sync.Mutex
	conns    []net.Conn
	accepted chan struct{}
}

func newCutter(t *testing.T, target string) *cutter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &cutter{ln: ln, accepted: make(chan struct{}, 64)}
	t.Cleanup(func() { ln.Close(); c.cut() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			c.mu.Lock()
			c.conns = append(c.conns, in, out)
			c.mu.Unlock()
			c.accepted <- struct{}{}
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
	return c
}

func (c *cutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}

// TestAgentReconnectsQuicklyAfterHealthySessions: an agent whose healthy
// sessions (up for a few heartbeats) keep being cut reconnects within its
// first backoff every time. It used to double its backoff after every
// session shorter than a minute, so a long fault run, with a server killed
// every few seconds, had an agent wait 25 s and its node was lost.
func TestAgentReconnectsQuicklyAfterHealthySessions(t *testing.T) {
	// Not parallel: it times how soon the node notices, against a bound of
	// a few heartbeats, which a busy process would miss.
	env := servertest.Start(t, func(c *config.Server) { c.HeartbeatInterval = 100 * time.Millisecond })
	_, node, jt := joinableNode(t, env, "h200-host")
	u, err := url.Parse(env.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCutter(t, u.Host)
	a := start(agent.Config{Server: "http://" + proxy.ln.Addr().String(), JoinToken: jt.Token, DataDir: t.TempDir(),
		Runtime: "sim", Version: "test", Discoverer: h200(t)})
	defer a.stop(t)
	eventually(t, 10*time.Second, "node online", func() bool {
		n, err := env.App.Inventory.GetNode(ctx, node.Id)
		return err == nil && n.Status == api.NodeStatusOnline
	})
	for i := range 6 {
		time.Sleep(500 * time.Millisecond) // five heartbeats: a healthy session
		for len(proxy.accepted) > 0 {
			<-proxy.accepted
		}
		proxy.cut()
		cut := time.Now()
		select {
		case <-proxy.accepted:
		case <-time.After(3 * time.Second):
			t.Fatalf("cut %d: no reconnect within 3 s", i+1)
		}
		if took := time.Since(cut); took > 1500*time.Millisecond {
			t.Fatalf("cut %d: reconnected after %s, want within the first backoff (0.5 s)", i+1, took.Round(time.Millisecond))
		}
	}
}
