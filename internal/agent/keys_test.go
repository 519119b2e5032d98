package agent_test

import (
	"context"
	"errors"
	"os/user"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agent"
	"github.com/gpuaas/gpuaas/internal/agent/runtime/process"
	"github.com/gpuaas/gpuaas/internal/agent/runtime/process/sshdtest"
	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// keyRecorder is the sim node runtime that remembers the keys each
// allocation was last given, by provision or set_keys.
type keyRecorder struct {
	agent.SimRuntime
	mu   sync.Mutex
	keys map[string][]string
}

func (r *keyRecorder) record(t agentproto.Task) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys[t.AllocationID] = append([]string{}, t.AuthorizedKeys...)
}

func (r *keyRecorder) Provision(_ context.Context, t agentproto.Task) error { r.record(t); return nil }

func (r *keyRecorder) SetKeys(_ context.Context, t agentproto.Task) error { r.record(t); return nil }

func (r *keyRecorder) get(id uuid.UUID) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keys[id.String()]
}

// TestKeyChangesReachTheAgent: with the agent runtime, a key added or
// deleted while an allocation runs reaches the node's agent as a set_keys
// task within seconds.
func TestKeyChangesReachTheAgent(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, func(c *config.Server) {
		c.Runtime = "agent"
		c.HeartbeatInterval = 100 * time.Millisecond
	})
	node, jt := env.H200Node(t, "h200-host")
	rec := &keyRecorder{keys: map[string][]string{}}
	cfg := agent.Config{Server: env.URL, JoinToken: jt, DataDir: t.TempDir(), Runtime: "sim",
		Version: "test", Discoverer: h200(t), NodeRuntime: rec, MaxBackoff: 200 * time.Millisecond}
	a := start(cfg)
	t.Cleanup(func() { a.stop(t) })
	eventually(t, 10*time.Second, "agent node online", func() bool {
		n, err := env.App.Inventory.GetNode(ctx, node.Id)
		return err == nil && n.Status == api.NodeStatusOnline && len(n.Gpus) == 1
	})
	env.Fund(t, 100_000)
	c, _ := env.As("user")
	_, line1 := userKey(t)
	k1, err := c.AddSSHKey(ctx, "one", line1)
	if err != nil {
		t.Fatal(err)
	}
	al, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h200-x1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	waitAllocation(t, c, al, api.AllocationStatusActive)
	holds := func(what string, want ...string) {
		t.Helper()
		eventually(t, 10*time.Second, what, func() bool { return slices.Equal(rec.get(al.Id), want) })
	}
	holds("the key at provision", k1.PublicKey)
	_, line2 := userKey(t)
	k2, err := c.AddSSHKey(ctx, "two", line2)
	if err != nil {
		t.Fatal(err)
	}
	holds("a key added while running", k1.PublicKey, k2.PublicKey)
	if err := c.DeleteSSHKey(ctx, k1.Id); err != nil {
		t.Fatal(err)
	}
	holds("a key deleted while running", k2.PublicKey)

	// A change while the agent is away follows when it connects again,
	// and the event is not left failing.
	a.stop(t)
	eventually(t, 10*time.Second, "node offline", func() bool {
		n, err := env.App.Inventory.GetNode(ctx, node.Id)
		return err == nil && n.Status == api.NodeStatusOffline
	})
	_, line3 := userKey(t)
	k3, err := c.AddSSHKey(ctx, "three", line3)
	if err != nil {
		t.Fatal(err)
	}
	a = start(cfg)
	holds("a key added while the agent was away", k2.PublicKey, k3.PublicKey)
	if dl, err := env.App.Store.ListDeadLetters(ctx, db.ListDeadLettersParams{PageLimit: 10}); err != nil || len(dl) != 0 {
		t.Fatalf("dead letters: %+v %v", dl, err)
	}
}

// TestAcceptanceKeyAddedWhileRunningLogsInAndDeletedKeyIsRefused: the real
// agent with the process runtime, a real sshd and the OpenSSH client. A key
// added while the allocation runs logs in within 10 s; a deleted key is
// refused within 10 s.
func TestAcceptanceKeyAddedWhileRunningLogsInAndDeletedKeyIsRefused(t *testing.T) {
	t.Parallel()
	requireAcceptanceHost(t)
	port := sshdtest.Start(t)
	env := servertest.Start(t, func(c *config.Server) {
		c.Runtime = "agent"
		c.HeartbeatInterval = 200 * time.Millisecond
	})
	node, jt := env.H200Node(t, "h200-host")
	env.Fund(t, 100_000)
	c, _ := env.As("user")
	rt := &process.Runtime{}
	var created []uuid.UUID
	t.Cleanup(func() {
		for _, id := range created {
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			if err := rt.Release(cctx, process.Workload{AllocationID: id}); err != nil {
				t.Errorf("cleanup: release workload %s: %v", id, err)
			}
			cancel()
		}
	})
	a := start(agent.Config{Server: env.URL, JoinToken: jt, DataDir: t.TempDir(), Runtime: "process",
		Version: "test", Discoverer: h200(t), NodeRuntime: agent.ProcessRuntime{RT: rt},
		SSHHost: "127.0.0.1", SSHPort: port, MaxBackoff: 200 * time.Millisecond})
	t.Cleanup(func() { a.stop(t) })
	eventually(t, 10*time.Second, "node online", func() bool {
		n, err := env.App.Inventory.GetNode(ctx, node.Id)
		return err == nil && n.Status == api.NodeStatusOnline && len(n.Gpus) == 1
	})

	firstFile, firstLine := userKey(t)
	first, err := c.AddSSHKey(ctx, "first", firstLine)
	if err != nil {
		t.Fatal(err)
	}
	al, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h200-x1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	created = append(created, al.Id)
	al = waitAllocation(t, c, al, api.AllocationStatusActive)
	conn := *al.Connection
	target := conn.Username + "@" + conn.Host
	if _, err := user.Lookup(conn.Username); err != nil {
		t.Fatalf("linux user %s: %v", conn.Username, err)
	}
	login := func(keyFile string) error {
		out, errOut, err := sshRun(t, keyFile, conn, "", target, "whoami")
		if err == nil && strings.TrimSpace(out) != conn.Username {
			return errors.New("whoami printed " + out)
		}
		if err != nil {
			return errors.New(err.Error() + ": " + errOut)
		}
		return nil
	}
	if err := login(firstFile); err != nil {
		t.Fatalf("the key from before the allocation: %v", err)
	}
	laterFile, laterLine := userKey(t)
	if err := login(laterFile); err == nil {
		t.Fatal("a key not yet added logs in")
	}

	added := time.Now()
	if _, err := c.AddSSHKey(ctx, "later", laterLine); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the key added while running logs in", func() bool { return login(laterFile) == nil })
	t.Logf("added key logged in %s after it was added", time.Since(added).Round(time.Millisecond))

	deleted := time.Now()
	if err := c.DeleteSSHKey(ctx, first.Id); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the deleted key is refused", func() bool { return login(firstFile) != nil })
	t.Logf("deleted key refused %s after it was deleted", time.Since(deleted).Round(time.Millisecond))
	if err := login(laterFile); err != nil {
		t.Fatalf("the remaining key stopped working: %v", err)
	}
}
