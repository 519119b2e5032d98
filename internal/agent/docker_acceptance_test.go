package agent_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
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
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// TestDockerRuntimeThroughAgent: a real control plane, a real agent with
// --runtime process,docker (sim standing in for process) and the real
// engine. The node announces both runtimes; a container allocation
// becomes active only with its container running, which holds exactly the
// allocation's GPU UUID and the SKU's limits; an agent restart adopts the
// container (same id, still active); a container that cannot be pulled
// fails its allocation with the reason; release leaves no container or
// network behind; a container that exits or is OOM-killed fails its
// allocation with the exit code or the OOM as its reason.
func TestDockerRuntimeThroughAgent(t *testing.T) {
	t.Parallel()
	host := dockertest.Host(t)
	drt, err := docker.New(ctx, host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { drt.Close() })
	drt.StopTimeout = time.Second
	drt.Scope = "test-" + uuid.NewString() // other packages' tests share the engine
	drt.PullWait = 200 * time.Millisecond  // answer "still pulling" soon
	reg := dockertest.StartRegistry(t, "u", "p")
	reg.BlobDelay = time.Second
	drt.Credentials = docker.Credentials{reg.Addr: {Username: "u", Password: "p", ServerAddress: reg.Addr}}
	cli, err := client.NewClientWithOpts(client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })

	env := servertest.Start(t, func(c *config.Server) { c.Runtime = "agent"; c.HeartbeatInterval = 200 * time.Millisecond })
	inv := env.App.Inventory
	node, jt := env.H200Node(t, "h200-host")
	_, err = env.App.Store.Pool().Exec(ctx, `UPDATE skus SET vcpu = 4, memory_mib = 512 WHERE id = 'h200-x1'`)
	if err != nil {
		t.Fatal(err)
	}
	cfg := agent.Config{Server: env.URL, JoinToken: jt, DataDir: t.TempDir(), Runtime: "sim,docker",
		Runtimes: []string{agentproto.RuntimeProcess, agentproto.RuntimeDocker}, Version: "test", Discoverer: h200(t),
		NodeRuntime: agent.MultiRuntime{Process: agent.SimRuntime{}, Docker: agent.DockerRuntime{RT: drt}},
		MaxBackoff:  200 * time.Millisecond}
	ag := start(cfg)
	t.Cleanup(func() { ag.stop(t) })
	eventually(t, 10*time.Second, "node online", func() bool {
		n, err := inv.GetNode(ctx, node.Id)
		return err == nil && n.Status == api.NodeStatusOnline && len(n.Gpus) == 1
	})
	var runtimes []string
	if err := env.App.Store.Pool().QueryRow(ctx, `SELECT runtimes FROM nodes WHERE id = $1`, node.Id).Scan(&runtimes); err != nil ||
		!slices.Equal(runtimes, []string{"process", "docker"}) {
		t.Fatalf("node runtimes %v (%v), want [process docker]", runtimes, err)
	}

	env.Fund(t, 100_000)
	c, u := env.As("user")
	create := func(spec allocation.Spec) api.Allocation {
		t.Helper()
		var a api.Allocation
		err := env.App.Store.InTx(ctx, func(tx *store.Store) error {
			var err error
			a, err = env.App.Allocations.CreateIn(ctx, tx, u.Id, allocation.CreateRequest{SKUID: "h200-x1", Container: &spec})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = drt.Release(ctx, a.Id) })
		return a
	}
	a := create(allocation.Spec{Launchable: "container", Image: dockertest.Image,
		Command: []string{"httpd", "-f", "-p", "8080", "-h", "/www"},
		Ports:   []agentproto.ContainerPort{{Name: "web", Port: 8080}}})
	a = waitAllocation(t, c, a, api.AllocationStatusActive)
	name := docker.Name(a.Id)
	ct, err := cli.ContainerInspect(ctx, name)
	if err != nil {
		t.Fatalf("container of an active allocation: %v", err)
	}
	if !ct.State.Running {
		t.Fatalf("active allocation's container is %s", ct.State.Status)
	}
	dr := ct.HostConfig.DeviceRequests
	if len(dr) != 1 || !slices.Equal(dr[0].DeviceIDs, []string{h200UUID}) ||
		!slices.Contains(ct.Config.Env, "NVIDIA_VISIBLE_DEVICES="+h200UUID) {
		t.Errorf("GPUs: device requests %+v env %v, want exactly %s", dr, ct.Config.Env, h200UUID)
	}
	if ct.HostConfig.CPUQuota != 4*100_000 || ct.HostConfig.Memory != 512<<20 || ct.HostConfig.MemorySwap != 512<<20 {
		t.Errorf("limits: quota %d memory %d swap %d", ct.HostConfig.CPUQuota, ct.HostConfig.Memory, ct.HostConfig.MemorySwap)
	}

	// The agent restarts: the container is adopted, not replaced, and the
	// allocation stays active.
	var connected time.Time
	connectedAt := func() time.Time {
		var at time.Time
		if err := env.App.Store.Pool().QueryRow(ctx, `SELECT agent_connected_at FROM nodes WHERE id = $1`, node.Id).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	connected = connectedAt()
	ag.stop(t)
	ag = start(cfg)
	eventually(t, 10*time.Second, "agent reconnected", func() bool { return connectedAt().After(connected) })
	// What must not happen (a replaced container, a lost allocation)
	// would follow the first heartbeats' reconcile: give it a few.
	time.Sleep(5 * 200 * time.Millisecond)
	again, err := cli.ContainerInspect(ctx, name)
	if err != nil || again.ID != ct.ID || !again.State.Running {
		t.Fatalf("after an agent restart: %v, id %s (was %s)", err, again.ID, ct.ID)
	}
	if got, _ := c.GetAllocation(ctx, a.Id); got.Status != api.AllocationStatusActive {
		t.Fatalf("after an agent restart the allocation is %s", got.Status)
	}

	// Release leaves nothing behind.
	if _, err := c.ReleaseAllocation(ctx, a.Id); err != nil {
		t.Fatal(err)
	}
	waitAllocation(t, c, a, api.AllocationStatusReleased)
	assertNoDocker(t, cli, a.Id)

	// Then (the GPU is free again) an image no registry serves: the allocation fails with the reason.
	bad := create(allocation.Spec{Launchable: "container", Image: "registry.invalid/gpuaas/nope:1"})
	eventually(t, 60*time.Second, "pull failure fails the allocation", func() bool {
		got, err := c.GetAllocation(ctx, bad.Id)
		if err != nil {
			t.Fatal(err)
		}
		bad = got
		return got.Status == api.AllocationStatusFailed
	})
	if !strings.Contains(bad.FailureReason, "pull image registry.invalid/gpuaas/nope:1") {
		t.Errorf("failure reason %v", bad.FailureReason)
	}
	if bad.ActiveAt != nil {
		t.Errorf("a failed pull was active (billed) at %v", bad.ActiveAt)
	}
	assertNoDocker(t, cli, bad.Id)

	// An image that takes a while to pull: the allocation stays
	// provisioning, unbilled, with the progress as last_error, and becomes
	// active once the pull is done and the container runs.
	slowRef := reg.Addr + "/test/slow:1"
	t.Cleanup(func() { _, _ = cli.ImageRemove(context.Background(), slowRef, image.RemoveOptions{Force: true}) })
	slow := create(allocation.Spec{Launchable: "container", Image: slowRef})
	var sawPulling bool
	eventually(t, 60*time.Second, "slow pull ends active", func() bool {
		got, err := c.GetAllocation(ctx, slow.Id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == api.AllocationStatusProvisioning && strings.Contains(got.LastError, "pulling image "+slowRef) {
			sawPulling = true
			if got.ActiveAt != nil {
				t.Errorf("billed while pulling: active_at %v", got.ActiveAt)
			}
		}
		if got.Status == api.AllocationStatusFailed {
			t.Fatalf("slow pull failed the allocation: %s", got.FailureReason)
		}
		slow = got
		return got.Status == api.AllocationStatusActive
	})
	if !sawPulling {
		t.Error("never saw the allocation provisioning with the pull's progress")
	}
	// The pull is in the events: its progress in bytes, then its end.
	evs, err := env.App.Store.ListAllocationEvents(ctx, db.ListAllocationEventsParams{AllocationID: slow.Id, PageLimit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var pulling, pulled int
	for _, e := range evs {
		switch e.Kind {
		case "pulling":
			pulling++
			if !strings.HasPrefix(e.Message, "Pulling image "+slowRef) {
				t.Errorf("pulling event %q", e.Message)
			}
		case "pulled":
			pulled++
		}
	}
	if pulling == 0 || pulled != 1 {
		t.Errorf("pull events: %d pulling, %d pulled: %+v", pulling, pulled, evs)
	}
	if _, err := c.ReleaseAllocation(ctx, slow.Id); err != nil {
		t.Fatal(err)
	}
	waitAllocation(t, c, slow, api.AllocationStatusReleased)
	assertNoDocker(t, cli, slow.Id)

	// A container that exits, and one killed for its memory (the SKU's
	// 512 MiB), fail their allocations with the reason, and are removed.
	for _, tc := range []struct {
		script, reason, event string
	}{
		{"sleep 0.3; exit 3", "container exited with code 3", "Container exited with code 3"},
		{"sleep 0.3; x=$(head -c 1000000000 /dev/zero | tr '\\0' a); echo ${#x}", "killed for exceeding its memory limit (OOM)",
			"Killed: out of memory (limit 512 MiB)"},
	} {
		a := create(allocation.Spec{Launchable: "container", Image: dockertest.Image, Command: []string{"sh", "-c", tc.script}})
		eventually(t, 30*time.Second, "stopped container fails the allocation", func() bool {
			got, err := c.GetAllocation(ctx, a.Id)
			if err != nil {
				t.Fatal(err)
			}
			a = got
			return got.Status == api.AllocationStatusFailed
		})
		if !strings.Contains(a.FailureReason, tc.reason) {
			t.Errorf("%q: failure reason %q, want %q", tc.script, a.FailureReason, tc.reason)
		}
		eventually(t, 10*time.Second, "stopped container and its network removed", func() bool {
			_, cerr := cli.ContainerInspect(ctx, docker.Name(a.Id))
			_, nerr := cli.NetworkInspect(ctx, docker.Name(a.Id), network.InspectOptions{})
			return errdefs.IsNotFound(cerr) && errdefs.IsNotFound(nerr)
		})
		assertNoDocker(t, cli, a.Id)
		evs, err := env.App.Store.ListAllocationEvents(ctx, db.ListAllocationEventsParams{AllocationID: a.Id, PageLimit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(evs, func(e db.AllocationEvent) bool { return e.Message == tc.event && e.ExitCode.Valid }) {
			t.Errorf("%q: no event %q with its exit code in %+v", tc.script, tc.event, evs)
		}
	}
}

func assertNoDocker(t *testing.T, cli *client.Client, id uuid.UUID) {
	t.Helper()
	if _, err := cli.ContainerInspect(ctx, docker.Name(id)); !errdefs.IsNotFound(err) {
		t.Errorf("container of %s still there (err %v)", id, err)
	}
	if _, err := cli.NetworkInspect(ctx, docker.Name(id), network.InspectOptions{}); !errdefs.IsNotFound(err) {
		t.Errorf("network of %s still there (err %v)", id, err)
	}
}
