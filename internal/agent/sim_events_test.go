package agent_test

import (
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agent"
	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
)

// TestSimAgentIsHonest: an agent that simulates both runtimes, as the
// in-process agents of gpuaas dev do, runs a container allocation through
// placement, billing and release, and its events and logs say that
// nothing ran.
func TestSimAgentIsHonest(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, func(c *config.Server) {
		c.Runtime = "agent"
		c.HeartbeatInterval = 200 * time.Millisecond
		c.ImageAllow = config.StringList{"ci/*"}
	})
	node, jt := env.H200Node(t, "h200-sim")
	ag := start(agent.Config{Server: env.URL, JoinToken: jt, DataDir: t.TempDir(), Runtime: "sim",
		Runtimes: []string{agentproto.RuntimeProcess, agentproto.RuntimeDocker}, Version: "test", Discoverer: h200(t),
		NodeRuntime: agent.MultiRuntime{Process: agent.SimRuntime{}, Docker: agent.SimRuntime{}}, MaxBackoff: 200 * time.Millisecond})
	t.Cleanup(func() { ag.stop(t) })
	eventually(t, 10*time.Second, "node online", func() bool {
		n, err := env.App.Inventory.GetNode(ctx, node.Id)
		return err == nil && n.Status == api.NodeStatusOnline
	})
	env.Fund(t, 100_000)
	c, _ := env.As("user")
	a, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h200-x1", Workload: &api.WorkloadRequest{
		Launchable: "container", Image: ptrTo("ci/busybox:latest")}}, "")
	if err != nil {
		t.Fatal(err)
	}
	waitAllocation(t, c, a, api.AllocationStatusActive)

	resp, err := c.Do(ctx, "GET", "/api/v1/allocations/"+a.Id.String()+"/logs?follow=true", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "[simulated] this node is simulated by gpuaas dev; no container runs") {
		t.Fatalf("sim logs: %d %q", resp.StatusCode, body)
	}

	if _, err := c.ReleaseAllocation(ctx, a.Id); err != nil {
		t.Fatal(err)
	}
	waitAllocation(t, c, a, api.AllocationStatusReleased)
	resp, err = c.Do(ctx, "GET", "/api/v1/allocations/"+a.Id.String()+"/events", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var l api.AllocationEventList
	err = json.NewDecoder(resp.Body).Decode(&l)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"created": true, "started": true, "removed": true}
	var kinds []string
	for _, e := range l.Items {
		kinds = append(kinds, e.Kind)
		if want[e.Kind] && !strings.HasPrefix(e.Message, "Simulated: ") {
			t.Errorf("%s event does not say it was simulated: %q", e.Kind, e.Message)
		}
	}
	if strings.Join(kinds, ",") != "requested,created,started,releasing,removed" {
		t.Errorf("sim events %v", kinds)
	}
}

func ptrTo[T any](v T) *T { return &v }
