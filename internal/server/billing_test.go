package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/billing"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/ledger"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
)

// TestUsageIsChargedForTheSecondsHeld is the acceptance walk: the debit is
// exactly charge(seconds) and the balance dropped by exactly that.
func TestUsageIsChargedForTheSecondsHeld(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	seedInventory(t, env)
	env.Fund(t, 10_000)
	c, _ := env.As("user")
	before, err := c.Balance(ctx)
	if err != nil || before.BalanceMinor != 10_000 || before.Currency != "USD" {
		t.Fatalf("balance %+v %v", before, err)
	}
	a, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x8"}, "")
	if err == nil {
		t.Fatal("h100-x8 should not fit (one of node-a's GPUs is unhealthy)")
	}
	a, err = c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, a.Id, api.AllocationStatusActive)
	time.Sleep(1200 * time.Millisecond) // hold the GPU for a measurable time
	if _, err := c.ReleaseAllocation(ctx, a.Id); err != nil {
		t.Fatal(err)
	}
	done := waitStatus(t, c, a.Id, api.AllocationStatusReleased)

	var usage api.UsageRecord
	deadline := time.Now().Add(15 * time.Second)
	for {
		l, err := c.ListUsage(ctx, api.ListUsageParams{AllocationId: &a.Id})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Items) == 1 && l.Items[0].EndedAt != nil {
			usage = l.Items[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("usage window not closed: %+v", l.Items)
		}
		time.Sleep(20 * time.Millisecond)
	}
	wantSecs := billing.Seconds(*done.ActiveAt, billedUntil(done))
	if usage.Seconds != wantSecs || usage.Seconds < 2 || usage.AmountMinor != billing.Charge(wantSecs, 249) {
		t.Fatalf("usage %+v, want %d s and %d", usage, wantSecs, billing.Charge(wantSecs, 249))
	}
	after, err := c.Balance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if before.BalanceMinor-after.BalanceMinor != usage.AmountMinor {
		t.Fatalf("balance %d → %d, but the usage debit is %d", before.BalanceMinor, after.BalanceMinor, usage.AmountMinor)
	}
	var csv strings.Builder
	if _, err := c.ExportUsageCSV(ctx, api.ExportUsageCSVParams{}, &csv); err != nil || !strings.Contains(csv.String(), a.Id.String()) {
		t.Fatalf("csv %q %v", csv.String(), err)
	}
	if err := ledger.Check(ctx, env.App.Store.Queries); err != nil {
		t.Fatal(err)
	}
}

func TestAdminBalanceAdjustmentIsIdempotent(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	admin, _ := env.As("admin")
	_, u := env.As("user")
	path := "/api/v1/admin/users/" + u.Id.String() + "/balance"
	key := http.Header{"Idempotency-Key": {"credit-1"}}
	s1, b1, _ := post(t, admin, path, `{"amount_minor":500,"reason":"welcome"}`, key)
	s2, b2, h2 := post(t, admin, path, `{"amount_minor":500,"reason":"welcome"}`, http.Header{"Idempotency-Key": {"credit-1"}})
	if s1 != 200 || s2 != 200 || string(b1) != string(b2) || h2.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %s / %d %s", s1, b1, s2, b2)
	}
	s3, b3, _ := post(t, admin, path, `{"amount_minor":900,"reason":"welcome"}`, http.Header{"Idempotency-Key": {"credit-1"}})
	if s3 != 422 || !strings.Contains(string(b3), "idempotency_key_mismatch") {
		t.Fatalf("mismatch: %d %s", s3, b3)
	}
	bal, err := ledger.Balance(ctx, env.App.Store.Queries, u.Id, "USD")
	if err != nil || bal != 500 {
		t.Fatalf("balance %d, want 500 (credited once): %v", bal, err)
	}
	for _, bad := range []string{`{"amount_minor":0,"reason":"x"}`, `{"amount_minor":5}`, `{"amount_minor":"5","reason":"x"}`,
		`{"amount_minor":1e20,"reason":"x"}`} {
		if s, b, _ := post(t, admin, path, bad, nil); s != 400 {
			t.Errorf("%s: %d %s", bad, s, b)
		}
	}
	if s, _, _ := post(t, admin, "/api/v1/admin/users/"+"00000000-0000-0000-0000-000000000001/balance", `{"amount_minor":5,"reason":"x"}`, nil); s != 404 {
		t.Fatalf("unknown user: %d", s)
	}
	user, _ := env.As("user")
	if s, _, _ := post(t, user, path, `{"amount_minor":5,"reason":"x"}`, nil); s != 403 {
		t.Fatalf("user adjusting: %d", s)
	}
}

// TestDepletionForceReleasesWithinAMinute runs in real time with a price
// that burns the credit in seconds: the allocation must be released within
// 60 s of the balance reaching zero, and the debits must equal the charge
// for the seconds it ran.
func TestDepletionForceReleasesWithinAMinute(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, func(c *config.Server) { c.MinRunway = 0 })
	seedInventory(t, env)
	// 3,600,000 minor/h is 1000 a second: 3000 of credit lasts 3 s.
	exec(t, env, `UPDATE skus SET price_per_hour_minor = 3600000 WHERE id = 'h100-x1'`)
	env.Fund(t, 3000)
	c, u := env.As("user")
	a, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	active := waitStatus(t, c, a.Id, api.AllocationStatusActive)
	zeroAt := active.ActiveAt.Add(3 * time.Second)
	deadline := time.Now().Add(90 * time.Second)
	var got api.Allocation
	for {
		got, err = c.GetAllocation(ctx, a.Id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == api.AllocationStatusReleased {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %s 90 s after start", got.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got.ReleaseReason != "balance_depleted" {
		t.Fatalf("release reason %q", got.ReleaseReason)
	}
	if late := got.ReleasedAt.Sub(zeroAt); late > 60*time.Second {
		t.Fatalf("ran %s past zero balance", late)
	}
	var charged, want int64
	deadline = time.Now().Add(15 * time.Second)
	for {
		l, err := c.ListUsage(ctx, api.ListUsageParams{AllocationId: &a.Id})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Items) == 1 && l.Items[0].EndedAt != nil {
			charged = l.Items[0].AmountMinor
			want = billing.Charge(billing.Seconds(*got.ActiveAt, billedUntil(got)), 3600000)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("usage never closed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	bal, _ := ledger.Balance(ctx, env.App.Store.Queries, u.Id, "USD")
	if charged != want || 3000-bal != want {
		t.Fatalf("charged %d, balance fell by %d, want %d", charged, 3000-bal, want)
	}
	if err := ledger.Check(ctx, env.App.Store.Queries); err != nil {
		t.Fatal(err)
	}
}
