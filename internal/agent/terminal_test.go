package agent_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agentgw"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
)

// terminalURL is the websocket address of the allocation's terminal.
func terminalURL(env *servertest.Env, id string) string {
	return "ws" + strings.TrimPrefix(env.URL, "http") + "/ws/terminal/" + id
}

// readTerminal reads frames until a control frame of one of the types in
// stop arrives, and returns it with the bytes seen before it.
func readTerminal(t *testing.T, c *websocket.Conn, stop ...string) (map[string]any, string) {
	t.Helper()
	var out strings.Builder
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		typ, b, err := c.Read(rctx)
		if err != nil {
			t.Fatalf("read terminal (output so far %q): %v", out.String(), err)
		}
		if typ == websocket.MessageBinary {
			out.Write(b)
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("control frame %q: %v", b, err)
		}
		for _, s := range stop {
			if m["type"] == s {
				return m, out.String()
			}
		}
		t.Fatalf("unexpected control frame %s (output %q)", b, out.String())
	}
}

// TestTerminalOverTheAgent: a terminal token opens a real shell on the
// allocation's node through its agent (sim runtime: the agent's own user,
// with the allocation's GPU in CUDA_VISIBLE_DEVICES); the exit code comes
// back in session_closed, and the spent token is refused before upgrade.
func TestTerminalOverTheAgent(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, func(c *config.Server) {
		c.Runtime = "agent"
		c.HeartbeatInterval = 100 * time.Millisecond
	})
	h200Fleet(t, env)
	c, _, a := activeAllocation(t, env)
	tok, err := c.MintTerminalToken(ctx, a.Id)
	if err != nil {
		t.Fatal(err)
	}
	hdr := http.Header{"Authorization": {"Bearer " + tok.Token}}
	ws, _, err := websocket.Dial(ctx, terminalURL(env, a.Id.String()), &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	readTerminal(t, ws, "session_ready")
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"type":"resize","cols":100,"rows":30}`)); err != nil {
		t.Fatal(err)
	}
	if err := ws.Write(ctx, websocket.MessageBinary, []byte("echo gpus=$CUDA_VISIBLE_DEVICES; exit 3\n")); err != nil {
		t.Fatal(err)
	}
	closed, out := readTerminal(t, ws, "session_closed")
	if want := "gpus=" + a.Gpus[0].Uuid; !strings.Contains(out, want) {
		t.Errorf("output %q lacks %q", out, want)
	}
	if closed["exit_code"] != float64(3) {
		t.Errorf("session_closed %v, want exit_code 3", closed)
	}

	// Start and end are audited with byte counts and the exit code.
	admin, _ := env.As("admin")
	eventually(t, 5*time.Second, "terminal session audited", func() bool {
		target := a.Id.String()
		end := audit.ActionTerminalSessionEnd
		l, err := admin.AdminListAuditLogs(ctx, api.AdminListAuditLogsParams{Action: &end, TargetId: &target})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Items) != 1 {
			return false
		}
		m := l.Items[0].Metadata
		return m["exit_code"] == float64(3) && m["bytes_in"].(float64) > 0 && m["bytes_out"].(float64) > 0
	})

	// /metrics counts the session, its end and its bytes.
	m := scrape(t, env)
	for _, want := range []string{`gpuaas_terminal_sessions_ended_total{reason="exited"} 1`, `gpuaas_terminal_sessions 0`} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if !regexp.MustCompile(`gpuaas_terminal_bytes_total\{direction="out"\} [1-9]`).MatchString(m) {
		t.Error("/metrics counts no terminal bytes out")
	}

	// The token is spent: refused at the upgrade.
	_, resp, err := websocket.Dial(ctx, terminalURL(env, a.Id.String()), &websocket.DialOptions{HTTPHeader: hdr})
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("reused token: %v %v", resp, err)
	}

	// Browsers: the token as the second subprotocol; release ends the session.
	tok, err = c.MintTerminalToken(ctx, a.Id)
	if err != nil {
		t.Fatal(err)
	}
	ws2, resp, err := websocket.Dial(ctx, terminalURL(env, a.Id.String()), &websocket.DialOptions{Subprotocols: []string{"bearer", tok.Token}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws2.CloseNow()
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != "bearer" {
		t.Errorf("subprotocol %q, want bearer", got)
	}
	readTerminal(t, ws2, "session_ready")
	if _, err := c.ReleaseAllocation(ctx, a.Id); err != nil {
		t.Fatal(err)
	}
	readTerminal(t, ws2, "session_closed")
}

// TestSSHCommandExitCode: `gpuaas ssh ALLOC -- CMD` prints the command's
// output and exits with its code.
func TestSSHCommandExitCode(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, func(c *config.Server) {
		c.Runtime = "agent"
		c.HeartbeatInterval = 100 * time.Millisecond
	})
	h200Fleet(t, env)
	_, u, a := activeAllocation(t, env)
	run := cliAs(t, env, u.Username)
	if r := run("", "ssh", a.Id.String(), "--", "echo", "gpus=$CUDA_VISIBLE_DEVICES;", "exit", "3"); r.code != 3 || !strings.Contains(r.stdout, "gpus="+a.Gpus[0].Uuid) {
		t.Fatalf("ssh -- exit 3: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := run("", "ssh", a.Id.String(), "--", "true"); r.code != 0 {
		t.Fatalf("ssh -- true: exit %d, %q", r.code, r.stderr)
	}
}

// TestTerminalIdleAndAgentDrop: an idle session ends with session_error
// idle_timeout, and one whose agent goes away with session_error
// agent_disconnected, not a hang.
func TestTerminalIdleAndAgentDrop(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, func(c *config.Server) {
		c.Runtime = "agent"
		c.HeartbeatInterval = 100 * time.Millisecond
		c.TerminalIdleTimeout = time.Second
	})
	ag, _ := h200Fleet(t, env)
	c, _, a := activeAllocation(t, env)
	open := func() *websocket.Conn {
		tok, err := c.MintTerminalToken(ctx, a.Id)
		if err != nil {
			t.Fatal(err)
		}
		ws, _, err := websocket.Dial(ctx, terminalURL(env, a.Id.String()), &websocket.DialOptions{
			HTTPHeader: http.Header{"Authorization": {"Bearer " + tok.Token}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ws.CloseNow() })
		readTerminal(t, ws, "session_ready")
		return ws
	}
	ws := open()
	if m, _ := readTerminal(t, ws, "session_error"); m["code"] != "idle_timeout" {
		t.Fatalf("idle session ended with %v", m)
	}
	ws = open()
	ag.stop(t)
	if m, _ := readTerminal(t, ws, "session_error"); m["code"] != "agent_disconnected" {
		t.Fatalf("session without its agent ended with %v", m)
	}
}

// TestTerminalAcrossReplicas: the agent is connected to replica A, the
// browser reaches replica B. B asks A over NATS, A parks the stream under
// a ticket and B relays it: the shell works, release ends it with
// session_closed, and the relay route refuses a made-up ticket.
func TestTerminalAcrossReplicas(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, func(c *config.Server) {
		c.Runtime = "agent"
		c.HeartbeatInterval = 100 * time.Millisecond
	})
	h200Fleet(t, env) // the agent dials env (replica A)
	b := servertest.StartReplica(t, env)
	env.Fund(t, 100_000)
	_, u := env.As("user")
	c, _ := b.Login(u)
	a, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h200-x1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	a = waitAllocation(t, c, a, api.AllocationStatusActive)
	tok, err := c.MintTerminalToken(ctx, a.Id)
	if err != nil {
		t.Fatal(err)
	}
	ws, _, err := websocket.Dial(ctx, terminalURL(b, a.Id.String()), &websocket.DialOptions{Subprotocols: []string{"bearer", tok.Token}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	readTerminal(t, ws, "session_ready")
	if err := ws.Write(ctx, websocket.MessageBinary, []byte("echo relayed=$CUDA_VISIBLE_DEVICES\n")); err != nil {
		t.Fatal(err)
	}
	want := "relayed=" + a.Gpus[0].Uuid
	var seen strings.Builder
	rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for !strings.Contains(seen.String(), want) {
		typ, p, err := ws.Read(rctx)
		if err != nil {
			t.Fatalf("read relayed output (so far %q): %v", seen.String(), err)
		}
		if typ == websocket.MessageBinary {
			seen.Write(p)
		} else {
			t.Fatalf("control frame before output: %s", p)
		}
	}
	if _, err := c.ReleaseAllocation(ctx, a.Id); err != nil {
		t.Fatal(err)
	}
	readTerminal(t, ws, "session_closed")
	if m := scrape(t, b); !strings.Contains(m, `gpuaas_terminal_relays_total{side="dialed"} 1`+"\n") {
		t.Error("replica B's /metrics does not count the relay it dialed")
	}
	if m := scrape(t, env); !strings.Contains(m, `gpuaas_terminal_relays_total{side="served"} 1`+"\n") {
		t.Error("replica A's /metrics does not count the relay it served")
	}

	// The relay route takes only tickets it parked.
	_, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(env.URL, "http")+agentgw.RelayPath,
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer made-up"}}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("made-up relay ticket: %v %v", resp, err)
	}
}

// scrape returns env's /metrics text.
func scrape(t *testing.T, env *servertest.Env) string {
	t.Helper()
	resp, err := http.Get(env.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
