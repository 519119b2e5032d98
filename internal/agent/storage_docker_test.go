package agent_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
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

// TestWorkspaceThroughDocker: a real control plane, a real agent with
// --storage-path and the real engine. A file one allocation writes to
// /workspace is there for its owner's next allocation (the container is
// gone in between) and on the shared filesystem under the owner's
// namespace; another user's allocation sees an empty /workspace.
func TestWorkspaceThroughDocker(t *testing.T) {
	t.Parallel()
	host := dockertest.Host(t)
	drt, err := docker.New(ctx, host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { drt.Close() })
	drt.StopTimeout = time.Second
	drt.Scope = "test-" + uuid.NewString()
	cli, err := client.NewClientWithOpts(client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })

	root := t.TempDir() // the region's shared filesystem, as this node mounts it
	env := servertest.Start(t, func(c *config.Server) {
		c.StorageFSRoot = root // the fs backend: the API serves the same files
		c.Runtime = "agent"
		c.HeartbeatInterval = 200 * time.Millisecond
	})
	node, jt := env.H200Node(t, "h200-storage")
	ag := start(agent.Config{Server: env.URL, JoinToken: jt, DataDir: t.TempDir(), Runtime: "sim,docker",
		Runtimes: []string{agentproto.RuntimeProcess, agentproto.RuntimeDocker}, Version: "test", Discoverer: h200(t),
		NodeRuntime: agent.MultiRuntime{Process: agent.SimRuntime{}, Docker: agent.DockerRuntime{RT: drt, Storage: agent.Storage{Path: root}}},
		MaxBackoff:  200 * time.Millisecond})
	t.Cleanup(func() { ag.stop(t) })
	eventually(t, 10*time.Second, "node online", func() bool {
		n, err := env.App.Inventory.GetNode(ctx, node.Id)
		return err == nil && n.Status == api.NodeStatusOnline && len(n.Gpus) == 1
	})

	env.Fund(t, 100_000)
	c, u := env.As("user")
	env.Fund(t, 100_000)
	c2, u2 := env.As("user")
	// run gives userID an allocation running script in sh, waits for it
	// to print "ready", and returns its logs.
	run := func(userID uuid.UUID, script string) (api.Allocation, string) {
		t.Helper()
		var a api.Allocation
		err := env.App.Store.InTx(ctx, func(tx *store.Store) error {
			var err error
			a, err = env.App.Allocations.CreateIn(ctx, tx, userID, allocation.CreateRequest{SKUID: "h200-x1",
				Container: &allocation.Spec{Launchable: "container", Image: dockertest.Image,
					Command: []string{"sh", "-c", script + "; echo ready; exec sleep 3600"}}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = drt.Release(ctx, a.Id) })
		var logs string
		eventually(t, 20*time.Second, "allocation's script ran", func() bool {
			rc, err := cli.ContainerLogs(ctx, docker.Name(a.Id), container.LogsOptions{ShowStdout: true, ShowStderr: true})
			if err != nil {
				return false
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			logs = string(b)
			return strings.Contains(logs, "ready")
		})
		return a, logs
	}

	a1, _ := run(u.Id, "echo hello from one > /workspace/hello.bin")
	a1 = waitAllocation(t, c, a1, api.AllocationStatusActive)
	ct, err := cli.ContainerInspect(ctx, docker.Name(a1.Id))
	if err != nil {
		t.Fatal(err)
	}
	realRoot, _ := filepath.EvalSymlinks(root)
	nsDir := filepath.Join(realRoot, "u-"+u.Id.String())
	if ct.Config.Labels[docker.LabelWorkspace] != nsDir || len(ct.Mounts) != 1 || ct.Mounts[0].Source != nsDir ||
		ct.Mounts[0].Destination != "/workspace" || !ct.Mounts[0].RW {
		t.Errorf("workspace mount %+v label %q, want %s at /workspace read-write", ct.Mounts, ct.Config.Labels[docker.LabelWorkspace], nsDir)
	}
	if _, err := c.ReleaseAllocation(ctx, a1.Id); err != nil {
		t.Fatal(err)
	}
	waitAllocation(t, c, a1, api.AllocationStatusReleased)
	// A removal the engine had in progress may finish just after.
	eventually(t, 10*time.Second, "container removed", func() bool {
		_, err := cli.ContainerInspect(ctx, docker.Name(a1.Id))
		return errdefs.IsNotFound(err)
	})

	// On the shared filesystem, under the owner's namespace: what the
	// storage API serves from the same root.
	if b, err := os.ReadFile(filepath.Join(nsDir, "hello.bin")); err != nil || string(b) != "hello from one\n" {
		t.Fatalf("namespace file after release: %q %v", b, err)
	}

	// Through the API too, whose fs backend is the same root. (A .bin
	// name: the contract lists application/octet-stream alone as the
	// download's type, while the server answers .txt as text/plain.)
	d, err := c.StorageDownload(ctx, "", "hello.bin", 0, "")
	if err != nil {
		t.Fatalf("download through the API: %v", err)
	}
	b, _ := io.ReadAll(d.Body)
	d.Body.Close()
	if string(b) != "hello from one\n" {
		t.Errorf("the API serves %q", b)
	}
	if _, err := c2.StorageDownload(ctx, "", "hello.bin", 0, ""); sdk.StatusOf(err) != 404 {
		t.Errorf("another user's download: %v, want 404", err)
	}

	a2, logs := run(u.Id, "cat /workspace/hello.bin")
	if !strings.Contains(logs, "hello from one") {
		t.Errorf("the next allocation reads %q, want the file", logs)
	}
	waitAllocation(t, c, a2, api.AllocationStatusActive)
	for _, e := range allocationEvents(t, c, a2.Id) {
		if e.Kind == "storage" {
			t.Errorf("a node with storage noted %q", e.Message)
		}
	}
	if _, err := c.ReleaseAllocation(ctx, a2.Id); err != nil { // the node has one GPU
		t.Fatal(err)
	}
	waitAllocation(t, c, a2, api.AllocationStatusReleased)

	a3, logs := run(u2.Id, "echo files: $(ls -A /workspace | wc -l); cat /workspace/hello.bin 2>&1; ls /workspace/.. ")
	if !strings.Contains(logs, "files: 0") || strings.Contains(logs, "hello from one") || strings.Contains(logs, "u-"+u.Id.String()) {
		t.Errorf("another user's allocation sees %q", logs)
	}
	waitAllocation(t, c2, a3, api.AllocationStatusActive)
}
