package agent_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agent"
	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/sdk"
)

func TestStorageDirResolvesOnlyRealNamespaces(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	ns := "u-" + uuid.NewString()
	s := agent.Storage{Path: root}
	dir, err := s.Dir(ns)
	if err != nil {
		t.Fatal(err)
	}
	real, _ := filepath.EvalSymlinks(root)
	if dir != filepath.Join(real, ns) {
		t.Fatalf("dir %s", dir)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("namespace dir: %v %v", fi, err)
	}
	if again, err := s.Dir(ns); err != nil || again != dir {
		t.Fatalf("again: %s %v", again, err)
	}

	outside := t.TempDir()
	linked := "u-" + uuid.NewString()
	if err := os.Symlink(outside, filepath.Join(root, linked)); err != nil {
		t.Fatal(err)
	}
	file := "t-" + uuid.NewString()
	if err := os.WriteFile(filepath.Join(root, file), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "..", "u-..", "u-" + uuid.NewString() + "/..", "../" + ns, "x-" + uuid.NewString(),
		"u-" + strings.ToUpper(uuid.NewString()), "u-" + uuid.NewString() + "\x00", linked, file} {
		if d, err := s.Dir(bad); err == nil {
			t.Errorf("Dir(%q) = %s; want refused", bad, d)
		}
	}
	if _, err := (agent.Storage{}).Dir(ns); err == nil {
		t.Error("a node without --storage-path resolved a namespace")
	}
}

// noteRuntime is the sim runtime on a node with storage s: it records the
// namespace each task names and notes what it could not mount.
type noteRuntime struct {
	agent.SimRuntime
	s  agent.Storage
	mu sync.Mutex
	ns map[string]string // "kind id" -> namespace
}

func (n *noteRuntime) Provision(ctx context.Context, t agentproto.Task) error {
	n.record(t)
	return n.SimRuntime.Provision(ctx, t)
}

func (n *noteRuntime) Release(ctx context.Context, t agentproto.Task) error {
	n.record(t)
	return n.SimRuntime.Release(ctx, t)
}

func (n *noteRuntime) record(t agentproto.Task) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.ns[t.Kind+" "+t.AllocationID] = t.StorageNamespace
}

func (n *noteRuntime) get(key string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ns[key]
}

func (n *noteRuntime) ProvisionNotes(t agentproto.Task) []string { return n.s.ProvisionNotes(t) }

func allocationEvents(t *testing.T, c *sdk.Client, id uuid.UUID) []api.AllocationEvent {
	t.Helper()
	resp, err := c.Do(ctx, "GET", "/api/v1/allocations/"+id.String()+"/events", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var l api.AllocationEventList
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// TestNodeWithoutStorageSaysSo: the server names the owner's namespace in
// each provision and release, and a node without --storage-path provisions
// anyway and says so: a storage event on a shell allocation (merged into
// its derived events) and on a container allocation.
func TestNodeWithoutStorageSaysSo(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, func(c *config.Server) {
		c.StorageFSRoot = t.TempDir()
		c.Runtime = "agent"
		c.HeartbeatInterval = 200 * time.Millisecond
		c.ImageAllow = config.StringList{"ci/*"}
	})
	node, jt := env.H200Node(t, "h200-nostorage")
	rt := &noteRuntime{ns: map[string]string{}}
	ag := start(agent.Config{Server: env.URL, JoinToken: jt, DataDir: t.TempDir(), Runtime: "sim",
		Runtimes: []string{agentproto.RuntimeProcess, agentproto.RuntimeDocker}, Version: "test", Discoverer: h200(t),
		NodeRuntime: agent.MultiRuntime{Process: rt, Docker: rt}, MaxBackoff: 200 * time.Millisecond})
	t.Cleanup(func() { ag.stop(t) })
	eventually(t, 10*time.Second, "node online", func() bool {
		n, err := env.App.Inventory.GetNode(ctx, node.Id)
		return err == nil && n.Status == api.NodeStatusOnline
	})
	env.Fund(t, 100_000)
	c, u := env.As("user")
	for _, req := range []api.CreateAllocationRequest{
		{SkuId: "h200-x1"},
		{SkuId: "h200-x1", Workload: &api.WorkloadRequest{Launchable: "container", Image: ptrTo("ci/busybox:latest")}},
	} {
		a, err := c.CreateAllocation(ctx, req, "")
		if err != nil {
			t.Fatal(err)
		}
		waitAllocation(t, c, a, api.AllocationStatusActive)
		if got := rt.get("provision " + a.Id.String()); got != "u-"+u.Id.String() {
			t.Errorf("provision names namespace %q, want u-%s", got, u.Id)
		}
		var storage []string
		for _, e := range allocationEvents(t, c, a.Id) {
			if e.Kind == "storage" {
				storage = append(storage, e.Message)
			}
		}
		if len(storage) != 1 || storage[0] != agent.NoStorageNote {
			t.Errorf("storage events %q, want one %q", storage, agent.NoStorageNote)
		}
		if _, err := c.ReleaseAllocation(ctx, a.Id); err != nil {
			t.Fatal(err)
		}
		waitAllocation(t, c, a, api.AllocationStatusReleased)
		if got := rt.get("release " + a.Id.String()); got != "u-"+u.Id.String() {
			t.Errorf("release names namespace %q", got)
		}
		var kinds []string
		for _, e := range allocationEvents(t, c, a.Id) {
			kinds = append(kinds, e.Kind)
		}
		want := "requested,started,storage,releasing,removed"
		if req.Workload != nil {
			want = "requested,created,started,storage,releasing,removed"
		}
		if strings.Join(kinds, ",") != want {
			t.Errorf("events %v, want %s", kinds, want)
		}
	}
}
