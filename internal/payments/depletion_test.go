package payments_test

import (
	"testing"
	"time"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/inventory"
)

// TestRefundBelowZeroDepletes: a refund may take a balance to zero or below
// while an allocation runs; the depletion watch then releases it.
func TestRefundBelowZeroDepletes(t *testing.T) {
	t.Parallel()
	e := start(t, options{})
	inv := e.srv.App.Inventory
	const model = "NVIDIA H100 80GB HBM3"
	must(t, inv.SeedRegion(ctx, inventory.Region{ID: "pay-1", Name: "Payments"}))
	must(t, inv.SeedSKU(ctx, api.SKU{Id: "h100-x1", Name: "H100", GpuModel: model, GpuCount: 1, GpuMemoryMib: 81559,
		PricePerHourMinor: 249, Currency: "USD", Region: "pay-1", Active: true}))
	_, err := inv.SeedNode(ctx, "pay-node", "pay-1", []inventory.GPUSpec{{Index: 0, UUID: "GPU-pay-0", Model: model, MemoryMiB: 81559}})
	must(t, err)

	admin, _ := e.srv.As("admin")
	cs, _, u := e.paid(5000)
	c, _ := e.srv.Login(u)
	a, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1"}, "")
	must(t, err)
	waitFor(t, "allocation active", func() bool {
		got, err := c.GetAllocation(ctx, a.Id)
		return err == nil && got.Status == api.AllocationStatusActive
	})
	if st, code := call(t, admin, "POST", "/api/v1/admin/payments/"+cs.Id.String()+"/refunds",
		api.RefundRequest{AmountMinor: 5000, Reason: "chargeback risk"}, "full", nil); st != 201 {
		t.Fatalf("refund: %d %s", st, code)
	}
	if b := e.balance(u.Id); b > 0 {
		t.Fatalf("balance %d after a full refund", b)
	}
	waitFor(t, "allocation released for zero balance", func() bool {
		must(t, e.srv.App.Billing.WatchOnce(ctx, time.Now()))
		got, err := c.GetAllocation(ctx, a.Id)
		return err == nil && (got.Status == api.AllocationStatusReleased || got.Status == api.AllocationStatusReleasing) &&
			got.ReleaseReason == "balance_depleted"
	})
	e.checkLedger()
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
