package billing_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/billing"
	"github.com/gpuaas/gpuaas/internal/events"
)

func TestAdjust(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	u, admin := e.user(), e.user()
	for name, c := range map[string]struct {
		amount int64
		reason string
	}{
		"zero": {0, "x"}, "too big": {1_000_000_000_001, "x"}, "too small": {-1_000_000_000_001, "x"},
		"no reason": {5, "  "}, "long reason": {5, strings.Repeat("é", 501)},
	} {
		if _, err := e.b.Adjust(ctx, admin, u, c.amount, c.reason, ""); !apperr.IsKind(err, apperr.KindInvalid) {
			t.Errorf("%s: err = %v, want invalid", name, err)
		}
	}
	if _, err := e.b.Adjust(ctx, admin, uuid.New(), 5, "x", ""); !apperr.IsKind(err, apperr.KindNotFound) {
		t.Errorf("unknown user: err = %v, want not found", err)
	}
	for range 2 { // one key, posted once
		got, err := e.b.Adjust(ctx, admin, u, 2_500, "welcome credit", "key-1")
		if err != nil || got.BalanceMinor != 2_500 || got.Currency != "USD" || got.RunwaySeconds != nil {
			t.Fatalf("adjust = %+v, %v", got, err)
		}
	}
	if got, err := e.b.Adjust(ctx, admin, u, -500, "correction", ""); err != nil || got.BalanceMinor != 2_000 {
		t.Fatalf("debit = %+v, %v", got, err)
	}
	if n := e.outbox(events.BillingBalanceCredited, u); n != 1 {
		t.Fatalf("balance_credited fired %d times, want 1", n)
	}
	var audited int
	_ = e.st.Pool().QueryRow(ctx, `SELECT count(*) FROM audit_logs WHERE action = 'billing.adjustment' AND target_id = $1`, u.String()).Scan(&audited)
	if audited != 2 {
		t.Fatalf("%d audit rows, want 2", audited)
	}
	e.checkLedger()
}

func TestBalanceAndUsageViews(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	u, stranger := e.user(), e.user()
	e.credit(u, 10_000)
	a1 := e.allocation(u, 3_600, t0) // 1/s
	a2 := e.allocation(u, 7_200, t0.Add(time.Minute))
	e.handle(event(events.AllocationActive, a1, u, t0))
	e.handle(event(events.AllocationActive, a2, u, t0.Add(time.Minute)))
	e.handle(event(events.AllocationReleased, a1, u, t0.Add(100*time.Second)))
	e.clock.set(t0.Add(2 * time.Minute))

	bal, err := e.b.Balance(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	// a1 debited 100; a2 has accrued 60 s × 2 = 120, not yet debited.
	if bal.BalanceMinor != 9_900 || bal.UnbilledMinor != 120 || bal.BurnRatePerHourMinor != 7_200 ||
		bal.RunwaySeconds == nil || *bal.RunwaySeconds != (9_900-120)/2 {
		t.Fatalf("balance = %+v", bal)
	}

	page, next, err := e.b.ListUsage(ctx, u, billing.Filter{}, nil, 1)
	if err != nil || len(page) != 1 || next == nil || page[0].AllocationId != a2 || page[0].EndedAt != nil ||
		page[0].Seconds != 60 || page[0].AmountMinor != 120 {
		t.Fatalf("first page = %+v, next %v, %v", page, next, err)
	}
	page, next, err = e.b.ListUsage(ctx, u, billing.Filter{}, next, 1)
	if err != nil || len(page) != 1 || next != nil || page[0].AllocationId != a1 || page[0].Seconds != 100 || page[0].AmountMinor != 100 {
		t.Fatalf("second page = %+v, next %v, %v", page, next, err)
	}
	since := t0.Add(101 * time.Second) // a1 ended before: only a2 overlaps
	if page, _, _ := e.b.ListUsage(ctx, u, billing.Filter{Since: &since}, nil, 10); len(page) != 1 || page[0].AllocationId != a2 {
		t.Fatalf("since filter = %+v", page)
	}
	until := t0.Add(30 * time.Second) // a2 started after: only a1
	if page, _, _ := e.b.ListUsage(ctx, u, billing.Filter{Until: &until}, nil, 10); len(page) != 1 || page[0].AllocationId != a1 {
		t.Fatalf("until filter = %+v", page)
	}
	if page, _, _ := e.b.ListUsage(ctx, u, billing.Filter{AllocationID: a1}, nil, 10); len(page) != 1 || page[0].AllocationId != a1 {
		t.Fatalf("allocation filter = %+v", page)
	}
	if page, _, _ := e.b.ListUsage(ctx, stranger, billing.Filter{}, nil, 10); len(page) != 0 {
		t.Fatalf("another user sees %d windows", len(page))
	}

	// A hostile currency code (no posting: the window is only open) comes
	// out of the CSV defused.
	a3 := e.allocationIn(u, 0, "=HY", t0.Add(-time.Hour))
	e.handle(event(events.AllocationActive, a3, u, t0.Add(-time.Hour)))
	var buf bytes.Buffer
	if err := e.b.ExportUsageCSV(ctx, u, billing.Filter{}, &buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(rows) != 4 || strings.Join(rows[0], ",") != strings.Join(billing.UsageCSVHeader, ",") {
		t.Fatalf("csv = %q, %v", rows, err)
	}
	if rows[2][0] != a1.String() || rows[2][4] != "100" || rows[2][5] != "100" || rows[1][3] != "" || rows[3][6] != "'=HY" {
		t.Fatalf("csv rows = %q", rows)
	}
}
