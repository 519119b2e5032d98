package server_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/sdk"
)

// waitStatus polls until the allocation reaches want, or fails after 15 s.
func waitStatus(t *testing.T, c *sdk.Client, id uuid.UUID, want api.AllocationStatus) api.Allocation {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		a, err := c.GetAllocation(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if a.Status == want {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("allocation %s is %s after 15s, want %s", id, a.Status, want)
		}
		time.Sleep(20 * time.Millisecond) // polling an external process; no clock to inject
	}
}

// billedUntil is where a finished allocation's usage window ends: the
// moment its release was requested, not when the node confirmed it, which
// can be seconds later on a busy machine (docs/billing.md).
func billedUntil(a api.Allocation) time.Time {
	if a.ReleaseRequestedAt != nil {
		return *a.ReleaseRequestedAt
	}
	return *a.ReleasedAt
}

// TestLifecycleOverHTTP walks the whole path through the real relay,
// JetStream and the provisioning consumer.
func TestLifecycleOverHTTP(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	seedInventory(t, env)
	env.Fund(t, 100_000)
	c, u := env.As("user")
	a, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1", Name: ptr("job")}, "k1")
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != api.AllocationStatusRequested || a.UserId != u.Id || len(a.Gpus) != 1 {
		t.Fatalf("created %+v", a)
	}
	active := waitStatus(t, c, a.Id, api.AllocationStatusActive)
	if active.ActiveAt == nil || active.NodeId == nil {
		t.Fatalf("active %+v", active)
	}
	// The SKU shows one fewer available.
	skus, _ := c.ListSKUs(ctx, api.ListSkusParams{})
	for _, s := range skus.Items {
		if s.Id == "h100-x1" && s.Available != 8 {
			t.Fatalf("available %d after one allocation, want 8", s.Available)
		}
	}
	rel, err := c.ReleaseAllocation(ctx, a.Id)
	if err != nil || rel.Status != api.AllocationStatusReleasing {
		t.Fatalf("release: %+v %v", rel, err)
	}
	_, err = c.ReleaseAllocation(ctx, a.Id)
	wantErr(t, err, 409, "invalid_state")
	done := waitStatus(t, c, a.Id, api.AllocationStatusReleased)
	if done.ReleasedAt == nil || done.ReleasedAt.Before(*done.ActiveAt) {
		t.Fatalf("released %+v", done)
	}

	admin, _ := env.As("admin")
	all, err := admin.AdminListAllocations(ctx, api.AdminListAllocationsParams{UserId: &u.Id})
	if err != nil || len(all.Items) != 1 {
		t.Fatalf("admin list: %d %v", len(all.Items), err)
	}
	o, err := admin.AdminOverview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if o.Allocations["released"] != 1 || o.Gpus.Unhealthy != 1 || o.Nodes["online"] != 2 || o.Users < 2 {
		t.Fatalf("overview %+v", o)
	}
	dl, err := admin.AdminListDeadLetters(ctx, api.AdminListDeadLettersParams{})
	if err != nil || len(dl.Items) != 0 {
		t.Fatalf("dead letters %+v %v", dl, err)
	}
}

func TestCreateNeedsRunwayCredit(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	seedInventory(t, env)
	c, u := env.As("user") // no credit
	_, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1"}, "")
	wantErr(t, err, 402, "insufficient_funds")
	env.Credit(u.Id, 42) // 10 min of 249/h is 42 (rounded up)
	if _, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1"}, ""); err != nil {
		t.Fatal(err)
	}
}

func TestAdminForceReleaseOverHTTP(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	seedInventory(t, env)
	env.Fund(t, 100_000)
	c, _ := env.As("user")
	a, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	admin, _ := env.As("admin")
	fr, err := admin.AdminForceRelease(ctx, a.Id, "node maintenance")
	if err != nil {
		t.Fatal(err)
	}
	if fr.ReleaseReason != "admin: node maintenance" {
		t.Fatalf("reason %q", fr.ReleaseReason)
	}
	waitStatus(t, c, a.Id, api.AllocationStatusReleased)
	_, err = admin.AdminForceRelease(ctx, a.Id, "again")
	wantErr(t, err, 409, "invalid_state")
	_, err = admin.AdminForceRelease(ctx, uuid.New(), "x")
	wantErr(t, err, 404, "not_found")
}
