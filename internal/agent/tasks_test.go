package agent_test

import (
	"testing"
	"time"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agent"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/sdk"
)

// h200Fleet registers one H200 node run by a real in-process agent (sim
// node runtime, GPUs from the real capture) on env, and a SKU for it.
func h200Fleet(t *testing.T, env *servertest.Env) (*running, api.Node) {
	t.Helper()
	inv := env.App.Inventory
	node, jt := env.H200Node(t, "h200-host")
	a := start(agent.Config{Server: env.URL, JoinToken: jt, DataDir: t.TempDir(), Runtime: "sim",
		Version: "test", Discoverer: h200(t), MaxBackoff: 200 * time.Millisecond})
	t.Cleanup(func() { a.stop(t) })
	eventually(t, 10*time.Second, "agent node online with its GPU", func() bool {
		n, err := inv.GetNode(ctx, node.Id)
		return err == nil && n.Status == api.NodeStatusOnline && len(n.Gpus) == 1
	})
	return a, node
}

// activeAllocation funds env's next user, has them take an h200-x1 and
// waits until it is active.
func activeAllocation(t *testing.T, env *servertest.Env) (*sdk.Client, api.User, api.Allocation) {
	t.Helper()
	env.Fund(t, 100_000)
	c, u := env.As("user")
	a, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h200-x1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	return c, u, waitAllocation(t, c, a, api.AllocationStatusActive)
}

func waitAllocation(t *testing.T, c *sdk.Client, a api.Allocation, want api.AllocationStatus) api.Allocation {
	t.Helper()
	eventually(t, 15*time.Second, "allocation "+string(want), func() bool {
		got, err := c.GetAllocation(ctx, a.Id)
		if err != nil {
			t.Fatal(err)
		}
		a = got
		return got.Status == want
	})
	return a
}

// TestAllocationRunsOnItsAgent: with --runtime agent, provisioning and
// releasing are tasks the control plane sends over the agent's own
// connection; the agent reports the allocation while it runs it.
func TestAllocationRunsOnItsAgent(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, func(c *config.Server) {
		c.Runtime = "agent"
		c.HeartbeatInterval = 100 * time.Millisecond
	})
	_, node := h200Fleet(t, env)
	env.Fund(t, 100_000)
	c, _ := env.As("user")
	a, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h200-x1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if a.NodeId == nil || *a.NodeId != node.Id || a.Gpus[0].Uuid != "GPU-18603c05-a9b7-355d-18ab-95b90ded7b0b" {
		t.Fatalf("placed %+v", a)
	}
	waitAllocation(t, c, a, api.AllocationStatusActive)
	if _, err := c.ReleaseAllocation(ctx, a.Id); err != nil {
		t.Fatal(err)
	}
	waitAllocation(t, c, a, api.AllocationStatusReleased)
}

// TestTaskCrossesReplicas: the agent is connected to replica A, which runs
// only the API; the provisioning worker runs on replica B, so its task must
// reach the agent through NATS and A.
func TestTaskCrossesReplicas(t *testing.T) {
	t.Parallel()
	a := servertest.Start(t, func(c *config.Server) {
		c.Runtime = "agent"
		c.HeartbeatInterval = 100 * time.Millisecond
		c.RedisURL = "redis://127.0.0.1:6379/0"
		c.Roles = "api"
	})
	servertest.StartReplica(t, a, func(c *config.Server) { c.Roles = "worker" })
	h200Fleet(t, a)
	a.Fund(t, 100_000)
	c, _ := a.As("user")
	alloc, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h200-x1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	waitAllocation(t, c, alloc, api.AllocationStatusActive)
	if _, err := c.ReleaseAllocation(ctx, alloc.Id); err != nil {
		t.Fatal(err)
	}
	waitAllocation(t, c, alloc, api.AllocationStatusReleased)
}

// TestProvisionFailsWhenTheAgentIsGone: no agent, no workload; the
// provision waits for the agent through the reconciler's attempts (it may
// be reconnecting), then the allocation fails with a reason instead of
// hanging.
func TestProvisionFailsWhenTheAgentIsGone(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, func(c *config.Server) {
		c.Runtime = "agent"
		c.HeartbeatInterval = 5 * time.Second // the node stays "online" for a while after the kill
		c.ProvisionDeadline = time.Second     // each wait for the agent
	})
	ag, _ := h200Fleet(t, env)
	ag.stop(t)
	env.Fund(t, 100_000)
	c, _ := env.As("user")
	alloc, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h200-x1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	got := waitAllocation(t, c, alloc, api.AllocationStatusFailed)
	if got.FailureReason == "" {
		t.Fatal("no failure reason")
	}
}

// TestReconnectReconcilesAndProbeAnswers: an agent that comes back without
// a workload it should run gets it again; one that runs a workload it
// should not is told to release it; a probe answers over the connection,
// and a probe of a node whose agent is gone marks it offline.
func TestReconnectReconcilesAndProbeAnswers(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, func(c *config.Server) {
		c.Runtime = "agent"
		c.HeartbeatInterval = 100 * time.Millisecond
	})
	ag, node := h200Fleet(t, env)
	_, _, a := activeAllocation(t, env)
	admin, _ := env.As("admin")
	n, err := admin.AdminProbeNode(ctx, node.Id)
	if err != nil || n.Status != api.NodeStatusOnline || n.AgentVersion == nil || *n.AgentVersion != "test" {
		t.Fatalf("probe: %+v %v", n, err)
	}

	// The agent restarts with a fresh runtime that runs nothing: the
	// active allocation is provisioned again, and shows in its report.
	ag.stop(t)
	rec := &recorder{}
	ag2 := start(agent.Config{Server: env.URL, DataDir: ag.dir, Runtime: "sim", Version: "test",
		Discoverer: h200(t), NodeRuntime: rec, MaxBackoff: 200 * time.Millisecond})
	t.Cleanup(func() { ag2.stop(t) })
	eventually(t, 10*time.Second, "lost workload provisioned again", func() bool { return rec.count("provision", a.Id.String()) > 0 })

	ag2.stop(t)
	n, err = admin.AdminProbeNode(ctx, node.Id)
	if err != nil || n.Status != api.NodeStatusOffline {
		t.Fatalf("probe of a gone agent: %+v %v", n, err)
	}
}
