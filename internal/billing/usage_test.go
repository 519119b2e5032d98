package billing_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/billing"
	"github.com/gpuaas/gpuaas/internal/events"
)

func TestOpenAndCloseExactlyOnceUnderConcurrentDuplicates(t *testing.T) {
	t.Parallel()
	for _, activeFirst := range []bool{true, false} {
		e := newEnv(t)
		u := e.user()
		e.credit(u, 100_000)
		price := int64(3601)
		end := t0.Add(90*time.Second + 500*time.Millisecond)
		a := e.allocation(u, price, t0)
		active := event(events.AllocationActive, a, u, t0)
		released := event(events.AllocationReleased, a, u, end)
		// Three deliveries of each (redeliveries share the id), plus a
		// second released event with its own id, all at once.
		deliveries := []events.Envelope{active, active, active, released, released, released,
			event(events.AllocationReleased, a, u, end)}
		if !activeFirst {
			// The reordered case: the close is applied before the open.
			e.handle(released)
		}
		var wg sync.WaitGroup
		for _, d := range deliveries {
			wg.Go(func() {
				if err := e.b.HandleEvent(context.Background(), d); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		r := e.usage(a)
		if r.ended == nil || !r.ended.Equal(end.Truncate(time.Microsecond)) || !r.started.Equal(t0) {
			t.Fatalf("window = %v..%v, want %v..%v", r.started, r.ended, t0, end)
		}
		want := billing.Charge(91, price)
		if r.secs != 91 || r.charged != want {
			t.Fatalf("charged %d for %d s, want %d for 91 s", r.charged, r.secs, want)
		}
		if total, n := e.debited(a); total != want || n != 1 {
			t.Fatalf("debited %d in %d postings, want %d in 1", total, n, want)
		}
		if got := e.balance(u); got != 100_000-want {
			t.Fatalf("balance %d, want %d", got, 100_000-want)
		}
		e.checkLedger()
	}
}

func TestNeverActiveAllocationCostsNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user()
	a := e.allocation(u, 1000, t0)
	e.exec(`UPDATE allocations SET active_at = NULL WHERE id = $1`, a)
	e.handle(event(events.AllocationReleased, a, u, t0.Add(time.Minute)))
	var n int
	_ = e.st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM usage_records`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d usage records, want 0", n)
	}
}

func TestInterimDebitsAndCloseSumToTheCharge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	u := e.user()
	e.credit(u, 1_000_000)
	price := int64(12_345)
	a := e.allocation(u, price, t0)
	e.handle(event(events.AllocationActive, a, u, t0))
	for _, s := range []float64{60.3, 125, 125, 125, 119, 250.000001} {
		now := t0.Add(time.Duration(s * float64(time.Second)))
		if err := e.b.MeterOnce(ctx, now); err != nil {
			t.Fatal(err)
		}
		r := e.usage(a)
		if total, _ := e.debited(a); total != billing.Charge(r.secs, price) || total != r.charged {
			t.Fatalf("after meter at +%vs: debited %d, charged %d, want charge(%d s) = %d", s, total, r.charged, r.secs, billing.Charge(r.secs, price))
		}
	}
	// Metering twice at one instant posted once: 61, 125, 251 seconds.
	if _, n := e.debited(a); n != 3 {
		t.Fatalf("%d interim postings, want 3", n)
	}
	// The workload really stopped at +200.2 s, before the last meter run:
	// closing gives the over-charge back.
	e.handle(event(events.AllocationReleased, a, u, t0.Add(200200*time.Millisecond)))
	total, _ := e.debited(a)
	if want := billing.Charge(201, price); total != want {
		t.Fatalf("debited %d, want charge(201 s) = %d", total, want)
	}
	if err := e.b.MeterOnce(ctx, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if again, _ := e.debited(a); again != total {
		t.Fatalf("a closed window was metered: %d → %d", total, again)
	}
	e.checkLedger()
}

func TestReleaseFailedKeepsTheWindowOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	u := e.user()
	admin := e.user()
	e.credit(u, 1_000_000)
	price := int64(3600)
	a := e.allocation(u, price, t0)
	e.handle(event(events.AllocationActive, a, u, t0))
	e.handle(event(events.AllocationReleaseFailed, a, u, t0.Add(100*time.Second)))
	e.exec(`UPDATE allocations SET status = 'release_failed' WHERE id = $1`, a)
	if r := e.usage(a); r.ended != nil {
		t.Fatal("release_failed closed the window")
	}
	if err := e.b.MeterOnce(ctx, t0.Add(300*time.Second)); err != nil {
		t.Fatal(err)
	}
	if total, _ := e.debited(a); total != 300 {
		t.Fatalf("debited %d, want 300 (the window runs on)", total)
	}
	e.clock.set(t0.Add(400 * time.Second))
	// An admin records that the workload actually stopped at +250 s.
	if _, err := e.b.CloseAt(ctx, admin, a, t0.Add(500*time.Second)); !apperr.IsKind(err, apperr.KindInvalid) {
		t.Fatalf("future ended_at: err = %v, want invalid", err)
	}
	item, err := e.b.CloseAt(ctx, admin, a, t0.Add(250*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if item.Seconds != 250 || item.AmountMinor != 250 || item.EndedAt == nil {
		t.Fatalf("closed item = %+v", item)
	}
	if _, err := e.b.CloseAt(ctx, admin, a, t0.Add(260*time.Second)); !apperr.HasCode(err, "invalid_state") {
		t.Fatalf("second close: err = %v, want invalid_state", err)
	}
	// The retried release succeeds later: nothing more is charged.
	e.handle(event(events.AllocationReleased, a, u, t0.Add(390*time.Second)))
	if total, _ := e.debited(a); total != 250 {
		t.Fatalf("debited %d, want 250", total)
	}
	var audited int
	_ = e.st.Pool().QueryRow(ctx, `SELECT count(*) FROM audit_logs WHERE action = 'billing.usage_close' AND target_id = $1`, a.String()).Scan(&audited)
	if audited != 1 {
		t.Fatalf("%d audit rows, want 1", audited)
	}
	e.checkLedger()
}

func TestCloseAtRefusesAllocationsNotReleaseFailed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user()
	a := e.allocation(u, 100, t0)
	e.clock.set(t0.Add(time.Hour))
	if _, err := e.b.CloseAt(context.Background(), u, a, t0.Add(time.Minute)); !apperr.HasCode(err, "invalid_state") {
		t.Fatalf("err = %v, want invalid_state", err)
	}
	if _, err := e.b.CloseAt(context.Background(), u, e.user(), t0.Add(time.Minute)); !apperr.IsKind(err, apperr.KindNotFound) {
		t.Fatalf("err = %v, want not found", err)
	}
}

func TestMeterReplicasSplitTheWork(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	rng := rand.New(rand.NewPCG(1, 2))
	ids := map[uuid.UUID]int64{}
	for range 20 {
		u := e.user()
		e.credit(u, 1_000_000)
		price := 1 + rng.Int64N(100_000)
		a := e.allocation(u, price, t0)
		e.handle(event(events.AllocationActive, a, u, t0))
		ids[a] = price
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if err := e.b.MeterOnce(ctx, t0.Add(10*time.Minute)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for a, price := range ids {
		if total, n := e.debited(a); total != billing.Charge(600, price) || n != 1 {
			t.Errorf("allocation %s: debited %d in %d postings, want %d in 1", a, total, n, billing.Charge(600, price))
		}
	}
	e.checkLedger()
}
