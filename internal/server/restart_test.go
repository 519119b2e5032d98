package server_test

import (
	"testing"
	"time"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/billing"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/ledger"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
)

// TestRestartMidLifecycle kills the whole control plane (API, relay,
// consumers, workers) while an allocation is provisioning and again while
// it is releasing. The new process finishes both steps, and the usage is
// charged exactly once.
func TestRestartMidLifecycle(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, func(c *config.Server) {
		c.SimDelay = 1500 * time.Millisecond
		// A step cut off by the kill is redelivered by JetStream, or at worst
		// re-driven by the reconciler after this deadline.
		c.ProvisionDeadline = 4 * time.Second
	})
	seedInventory(t, env)
	env.Fund(t, 100_000)
	u := env.NewUser("user")
	c, _ := env.Login(u)
	a, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1"}, "restart-1")
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, a.Id, api.AllocationStatusProvisioning)
	env.Restart() // the sim was mid-provision

	c, _ = env.Login(u)
	waitStatus(t, c, a.Id, api.AllocationStatusActive)
	if _, err := c.ReleaseAllocation(ctx, a.Id); err != nil {
		t.Fatal(err)
	}
	env.Restart() // mid-release

	c, _ = env.Login(u)
	done := waitStatus(t, c, a.Id, api.AllocationStatusReleased)
	// A retried create with the same key after the restart is the same allocation.
	again, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1"}, "restart-1")
	if err != nil || again.Id != a.Id {
		t.Fatalf("retry after restart: %+v %v", again, err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		l, err := c.ListUsage(ctx, api.ListUsageParams{AllocationId: &a.Id})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Items) == 1 && l.Items[0].EndedAt != nil {
			want := billing.Charge(billing.Seconds(*done.ActiveAt, billedUntil(done)), 249)
			if l.Items[0].AmountMinor != want {
				t.Fatalf("charged %d, want %d", l.Items[0].AmountMinor, want)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("usage not closed: %+v", l.Items)
		}
		time.Sleep(20 * time.Millisecond)
	}
	bal, _ := ledger.Balance(ctx, env.App.Store.Queries, u.Id, "USD")
	if 100_000-bal != billing.Charge(billing.Seconds(*done.ActiveAt, billedUntil(done)), 249) {
		t.Fatalf("balance fell by %d", 100_000-bal)
	}
	if err := ledger.Check(ctx, env.App.Store.Queries); err != nil {
		t.Fatal(err)
	}
	var events int
	must(t, env.App.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM outbox WHERE type = 'allocation.active'`).Scan(&events))
	if events != 1 {
		t.Fatalf("%d allocation.active events", events)
	}
}
