package agent_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agent"
	"github.com/gpuaas/gpuaas/internal/agent/runtime/process"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/sdk"
)

// TestAcceptanceTerminalProcessRuntime: with the process runtime (as root)
// the terminal is a login shell of the allocation's Linux user with the
// pinned GPU; a spent token is refused; release ends the session.
func TestAcceptanceTerminalProcessRuntime(t *testing.T) {
	t.Parallel()
	env, c, _, a, rt := processAllocation(t)
	name := process.UsernameFor(a.Id)

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
	if err := ws.Write(ctx, websocket.MessageBinary, []byte("echo gpus=$CUDA_VISIBLE_DEVICES; echo me=$(whoami) at=$PWD; exit 3\n")); err != nil {
		t.Fatal(err)
	}
	closed, out := readTerminal(t, ws, "session_closed")
	for _, want := range []string{"gpus=" + a.Gpus[0].Uuid, "me=" + name, "at=" + rt.Home(name)} {
		if !strings.Contains(out, want) {
			t.Errorf("output %q lacks %q", out, want)
		}
	}
	if closed["exit_code"] != float64(3) {
		t.Errorf("session_closed %v, want exit_code 3", closed)
	}
	if _, resp, err := websocket.Dial(ctx, terminalURL(env, a.Id.String()), &websocket.DialOptions{HTTPHeader: hdr}); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("reused token: %v %v", resp, err)
	}

	tok, err = c.MintTerminalToken(ctx, a.Id)
	if err != nil {
		t.Fatal(err)
	}
	ws2, _, err := websocket.Dial(ctx, terminalURL(env, a.Id.String()), &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + tok.Token}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws2.CloseNow()
	readTerminal(t, ws2, "session_ready")
	if _, err := c.ReleaseAllocation(ctx, a.Id); err != nil {
		t.Fatal(err)
	}
	readTerminal(t, ws2, "session_closed")
	waitAllocation(t, c, a, api.AllocationStatusReleased)
}

// processAllocation is the start of every process-runtime terminal test
// (root only; it skips elsewhere): a server, an agent with the process
// runtime for one H200 node, and a funded user's allocation on it, active.
// No Linux user outlives the test.
func processAllocation(t *testing.T) (*servertest.Env, *sdk.Client, api.User, api.Allocation, *process.Runtime) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: the process runtime creates real Linux users and needs root")
	}
	for _, tool := range []string{"useradd", "userdel", "getent", "runuser"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: %s is not installed (%v)", tool, err)
		}
	}
	env := servertest.Start(t, func(c *config.Server) {
		c.Runtime = "agent"
		c.HeartbeatInterval = 200 * time.Millisecond
	})
	node, jt := env.H200Node(t, "h200-host")
	env.Fund(t, 100_000)
	c, u := env.As("user")
	rt := &process.Runtime{}
	var created []uuid.UUID
	t.Cleanup(func() { // after the agent stops (cleanups run last in, first out)
		for _, id := range created {
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			if err := rt.Release(cctx, process.Workload{AllocationID: id}); err != nil {
				t.Errorf("cleanup: release workload %s: %v", id, err)
			}
			cancel()
		}
	})
	ag := start(agent.Config{Server: env.URL, JoinToken: jt, DataDir: t.TempDir(), Runtime: "process",
		Version: "test", Discoverer: h200(t), NodeRuntime: agent.ProcessRuntime{RT: rt}, MaxBackoff: 200 * time.Millisecond})
	t.Cleanup(func() { ag.stop(t) })
	eventually(t, 10*time.Second, "node online with its GPU", func() bool {
		n, err := env.App.Inventory.GetNode(ctx, node.Id)
		return err == nil && n.Status == api.NodeStatusOnline && len(n.Gpus) == 1
	})
	a, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h200-x1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	created = append(created, a.Id)
	return env, c, u, waitAllocation(t, c, a, api.AllocationStatusActive), rt
}
