package agent_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agent"
	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
)

// TestSimTerminalStartsInTheWorkspace: on a simulated node with a shared
// filesystem (the server's fs root as the agent's storage path, as in
// `gpuaas dev`), an allocation's browser terminal says first that it is
// simulated and where the workspace is, starts there with $WORKSPACE set,
// and sees a file uploaded through the storage API. A namespace turned
// into a link to another namespace is refused when a terminal opens.
func TestSimTerminalStartsInTheWorkspace(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	env := servertest.Start(t, func(c *config.Server) {
		c.StorageFSRoot = root
		c.Runtime = "agent"
		c.HeartbeatInterval = 100 * time.Millisecond
	})
	node, jt := env.H200Node(t, "h200-simstorage")
	sim := agent.SimRuntime{Workspaces: agent.NewSimWorkspaces(agent.Storage{Path: root})}
	ag := start(agent.Config{Server: env.URL, JoinToken: jt, DataDir: t.TempDir(), Runtime: "sim",
		Runtimes: []string{agentproto.RuntimeProcess, agentproto.RuntimeDocker}, Version: "test", Discoverer: h200(t),
		NodeRuntime: agent.MultiRuntime{Process: sim, Docker: sim}, MaxBackoff: 200 * time.Millisecond})
	t.Cleanup(func() { ag.stop(t) })
	eventually(t, 10*time.Second, "node online", func() bool {
		n, err := env.App.Inventory.GetNode(ctx, node.Id)
		return err == nil && n.Status == api.NodeStatusOnline
	})
	c, u, a := activeAllocation(t, env)
	ns := "u-" + u.Id.String()
	ws := filepath.Join(root, ns)
	if fi, err := os.Stat(ws); err != nil || !fi.IsDir() {
		t.Fatalf("the workspace %s was not made on provision: %v", ws, err)
	}
	// A file as the storage API writes it (the same layout: <root>/<namespace>/<path>).
	if err := os.MkdirAll(filepath.Join(ws, "e2e-files"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "e2e-files", "hello.txt"), []byte("hello from storage\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	open := func() *websocket.Conn {
		t.Helper()
		tok, err := c.MintTerminalToken(ctx, a.Id)
		if err != nil {
			t.Fatal(err)
		}
		conn, _, err := websocket.Dial(ctx, terminalURL(env, a.Id.String()),
			&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tok.Token}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.CloseNow() })
		return conn
	}
	conn := open()
	readTerminal(t, conn, "session_ready")
	if err := conn.Write(ctx, websocket.MessageBinary, []byte("echo \"pwd=$(pwd) ws=$WORKSPACE\"; cat e2e-files/hello.txt; exit\n")); err != nil {
		t.Fatal(err)
	}
	_, out := readTerminal(t, conn, "session_closed")
	first, _, _ := strings.Cut(out, "\n")
	if first != strings.TrimSuffix(agent.SimTerminalBanner(ws), "\n") {
		t.Errorf("first line %q, want the simulated banner naming %s", first, ws)
	}
	if want := "pwd=" + ws + " ws=" + ws; !strings.Contains(out, want) {
		t.Errorf("output %q lacks %q", out, want)
	}
	if !strings.Contains(out, "hello from storage") {
		t.Errorf("output %q lacks the file's content", out)
	}

	// The namespace swapped for a link to another one: no shell there.
	other := filepath.Join(root, "u-"+strings.Repeat("0", 8)+"-0000-4000-8000-000000000000")
	if err := os.Mkdir(other, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(ws, ws+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(other, ws); err != nil {
		t.Fatal(err)
	}
	conn = open()
	m, _ := readTerminal(t, conn, "session_error", "session_ready")
	if m["type"] == "session_ready" { // the relay may say ready before the agent's error arrives
		m, _ = readTerminal(t, conn, "session_error")
	}
	if m["type"] != "session_error" || !strings.Contains(m["message"].(string), "symbolic link") {
		t.Errorf("a terminal in a linked namespace: %v, want an error naming the link", m)
	}
}
