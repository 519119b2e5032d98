package agentgw_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/store/dbtest"
)

// TestAppReadinessChangeIsHeardAtOnce: a heartbeat whose app readiness
// changed is not left to the batched stamps: OnApps hears it before
// Heartbeat returns, once per change, and a failure is tried again at the
// next heartbeat.
func TestAppReadinessChangeIsHeardAtOnce(t *testing.T) {
	ctx := context.Background()
	st := dbtest.New(t)
	node, alloc, _ := held(t, st)
	g := testGateway(st)
	var heard [][]agentproto.AppReadiness
	fail := false
	g.SetOnApps(func(_ context.Context, n uuid.UUID, apps []agentproto.AppReadiness) error {
		if n != node {
			t.Errorf("OnApps for node %s", n)
		}
		if fail {
			fail = false
			return context.DeadlineExceeded
		}
		heard = append(heard, apps)
		return nil
	})
	hb := func(ready ...string) agentproto.Heartbeat {
		h := report("healthy", "healthy")
		h.Allocations = []string{alloc.String()}
		if ready != nil {
			h.Apps = []agentproto.AppReadiness{{AllocationID: alloc.String(), Ready: ready}}
		}
		return h
	}
	now := time.Now()
	must(t, g.Heartbeat(ctx, node, hb(), now))
	must(t, g.Heartbeat(ctx, node, hb(), now.Add(time.Second)))
	if len(heard) != 0 {
		t.Fatalf("no apps, yet OnApps heard %v", heard)
	}
	must(t, g.Heartbeat(ctx, node, hb("lab"), now.Add(2*time.Second)))
	if len(heard) != 1 || heard[0][0].Ready[0] != "lab" {
		t.Fatalf("readiness change: heard %v", heard)
	}
	must(t, g.Heartbeat(ctx, node, hb("lab"), now.Add(3*time.Second)))
	if len(heard) != 1 {
		t.Fatalf("unchanged readiness heard again: %v", heard)
	}
	fail = true
	if err := g.Heartbeat(ctx, node, hb([]string{}...), now.Add(4*time.Second)); err == nil {
		t.Fatal("a failed OnApps is not reported")
	}
	must(t, g.Heartbeat(ctx, node, hb([]string{}...), now.Add(5*time.Second)))
	if len(heard) != 2 || len(heard[1][0].Ready) != 0 {
		t.Fatalf("a flip to not ready, after a failure: heard %v", heard)
	}
}
