package agent_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agent"
	"github.com/gpuaas/gpuaas/internal/agent/runtime/docker"
	"github.com/gpuaas/gpuaas/internal/agent/runtime/docker/dockertest"
	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/allocation"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/sdk"
)

// containerAllocation starts a server and an agent with the sim process
// runtime and the real docker engine, and returns a funded user's active
// busybox container allocation (running `sleep`).
func containerAllocation(t *testing.T) (*servertest.Env, *sdk.Client, api.User, api.Allocation) {
	t.Helper()
	host := dockertest.Host(t)
	drt, err := docker.New(ctx, host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { drt.Close() })
	drt.StopTimeout = time.Second
	drt.Scope = "test-" + uuid.NewString()
	env := servertest.Start(t, func(c *config.Server) { c.Runtime = "agent"; c.HeartbeatInterval = 200 * time.Millisecond })
	node, jt := env.H200Node(t, "h200-host")
	cfg := agent.Config{Server: env.URL, JoinToken: jt, DataDir: t.TempDir(), Runtime: "sim,docker",
		Runtimes: []string{agentproto.RuntimeProcess, agentproto.RuntimeDocker}, Version: "test", Discoverer: h200(t),
		NodeRuntime: agent.MultiRuntime{Process: agent.SimRuntime{}, Docker: agent.DockerRuntime{RT: drt}},
		MaxBackoff:  200 * time.Millisecond}
	ag := start(cfg)
	t.Cleanup(func() { ag.stop(t) })
	eventually(t, 10*time.Second, "node online", func() bool {
		n, err := env.App.Inventory.GetNode(ctx, node.Id)
		return err == nil && n.Status == api.NodeStatusOnline && len(n.Gpus) == 1
	})
	env.Fund(t, 100_000)
	c, u := env.As("user")
	var a api.Allocation
	err = env.App.Store.InTx(ctx, func(tx *store.Store) error {
		var err error
		a, err = env.App.Allocations.CreateIn(ctx, tx, u.Id, allocation.CreateRequest{SKUID: "h200-x1",
			Container: &allocation.Spec{Launchable: "container", Image: dockertest.Image, Command: []string{"sleep", "3600"}}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = drt.Release(ctx, a.Id) })
	return env, c, u, waitAllocation(t, c, a, api.AllocationStatusActive)
}

// TestContainerTerminal: for a container allocation the browser terminal
// and `gpuaas ssh` open their shell inside the container (its hostname,
// its env), on a TTY or, for a command, on pipes with stdout and stderr
// apart, stdin's EOF and the exit code.
func TestContainerTerminal(t *testing.T) {
	t.Parallel()
	env, c, u, a := containerAllocation(t)
	tok, err := c.MintTerminalToken(ctx, a.Id)
	if err != nil {
		t.Fatal(err)
	}
	ws, _, err := websocket.Dial(ctx, terminalURL(env, a.Id.String()), &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + tok.Token}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	readTerminal(t, ws, "session_ready")
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"type":"resize","cols":101,"rows":33}`)); err != nil {
		t.Fatal(err)
	}
	if err := ws.Write(ctx, websocket.MessageBinary, []byte("echo gpu=$NVIDIA_VISIBLE_DEVICES; stty size; exit 3\n")); err != nil {
		t.Fatal(err)
	}
	closed, out := readTerminal(t, ws, "session_closed")
	if !strings.Contains(out, "gpu="+a.Gpus[0].Uuid) || !strings.Contains(out, "33 101") {
		t.Errorf("terminal output %q: want the container's GPU and the resized size", out)
	}
	if closed["exit_code"] != float64(3) {
		t.Errorf("session_closed %v, want exit_code 3", closed)
	}

	run := cliAs(t, env, u.Username)
	id := a.Id.String()
	if r := run("", "ssh", id, "--", "sh", "-c", "'echo out; echo err >&2; exit 4'"); r != (sshResult{4, "out\n", "err\n"}) {
		t.Errorf("ssh -- sh -c ...: %+v, want exit 4 with out/err apart", r)
	}
	if r := run("a\nb\n", "ssh", id, "--", "wc", "-l"); r.code != 0 || strings.TrimSpace(r.stdout) != "2" {
		t.Errorf("ssh -- wc -l with stdin: %+v", r)
	}
	if r := run("", "ssh", id, "--", "cat", "/proc/1/cmdline"); r.code != 0 || !strings.Contains(r.stdout, "sleep") {
		t.Errorf("ssh -- cat /proc/1/cmdline: %+v, want the container's sleep", r)
	}
	if r := run("", "ssh", "-t", id, "--", "sh", "-c", "'echo out; echo err >&2'"); r.code != 0 || r.stdout != "out\r\nerr\r\n" {
		t.Errorf("ssh -t: %+v, want both on stdout with \\r\\n", r)
	}
	if r := run("echo sum=$((1+2))\nexit 5\n", "ssh", id); r != (sshResult{5, "sum=3\n", ""}) {
		t.Errorf("ssh with a script on stdin: %+v", r)
	}
}
