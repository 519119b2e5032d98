package billing_test

import (
	"context"
	"testing"
	"time"

	"github.com/gpuaas/gpuaas/internal/billing"
	"github.com/gpuaas/gpuaas/internal/events"
)

// A user with ten minutes of credit runs one allocation; the clock moves in
// watch-sized steps with the meter every minute, as RunMeter would.
func TestDepletionForceReleasesWithinAMinute(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	e.exec(`UPDATE policies SET value = 420 WHERE key = 'billing.low_balance_runway_seconds'`)
	e.exec(`UPDATE policies SET value = 120 WHERE key = 'billing.auto_release_runway_seconds'`)
	u, rich := e.user(), e.user()
	const price = 36_000 // 10 minor units a second
	e.credit(u, 6_000)   // 600 s of credit
	e.credit(rich, 10_000_000)
	a := e.allocation(u, price, t0)
	other := e.allocation(rich, price, t0)
	e.handle(event(events.AllocationActive, a, u, t0))
	e.handle(event(events.AllocationActive, other, rich, t0))
	zero := t0.Add(600 * time.Second)

	var releasedAt time.Time
	for step := 1; step <= 160; step++ {
		now := t0.Add(time.Duration(step) * billing.DefaultWatchInterval)
		e.clock.set(now)
		if step%12 == 0 {
			if err := e.b.MeterOnce(ctx, now); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.b.WatchOnce(ctx, now); err != nil {
			t.Fatal(err)
		}
		switch low, auto := e.outbox(events.BillingLowBalance, u), e.outbox(events.BillingAutoReleasePending, u); {
		case now.Before(t0.Add(180*time.Second)) && low > 0:
			t.Fatalf("low_balance fired at %s with more than 420 s of runway", now.Sub(t0))
		case now.Before(t0.Add(480*time.Second)) && auto > 0:
			t.Fatalf("auto_release_pending fired at %s with more than 120 s of runway", now.Sub(t0))
		}
		if calls := e.rel.Calls(); len(calls) > 0 && releasedAt.IsZero() {
			// The runtime confirms the stop a few seconds later.
			releasedAt = now.Add(3 * time.Second)
			e.exec(`UPDATE allocations SET status = 'released' WHERE id = $1`, a)
			e.handle(event(events.AllocationReleased, a, u, releasedAt))
		}
	}
	calls := e.rel.Calls()
	if len(calls) != 1 || calls[0].id != a || calls[0].reason != billing.ReasonBalanceDepleted {
		t.Fatalf("force releases = %+v, want one of %s with %q", calls, a, billing.ReasonBalanceDepleted)
	}
	if late := calls[0].at.Sub(zero); late > time.Minute || late < 0 {
		t.Fatalf("force-released %s after the balance reached zero, want within 60 s", late)
	}
	for typ, want := range map[string]int{
		events.BillingLowBalance: 1, events.BillingAutoReleasePending: 1, events.BillingBalanceDepleted: 1,
	} {
		if got := e.outbox(typ, u); got != want {
			t.Errorf("%s fired %d times, want %d", typ, got, want)
		}
		if got := e.outbox(typ, rich); got != 0 {
			t.Errorf("%s fired %d times for the user with credit", typ, got)
		}
	}
	ran := billing.Seconds(t0, releasedAt)
	if total, _ := e.debited(a); total != billing.Charge(ran, price) {
		t.Fatalf("debited %d, want charge(%d s) = %d", total, ran, billing.Charge(ran, price))
	}
	if got := e.balance(u); got != 6_000-billing.Charge(ran, price) {
		t.Fatalf("balance %d, want %d", got, 6_000-billing.Charge(ran, price))
	}
	e.checkLedger()
}

func TestAlertsReArmAfterTopUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	u := e.user()
	admin := e.user()
	e.credit(u, 1_000) // 100 s at 10/s: under both thresholds
	a := e.allocation(u, 36_000, t0)
	e.handle(event(events.AllocationActive, a, u, t0))
	watch := func(at time.Duration) {
		t.Helper()
		e.clock.set(t0.Add(at))
		if err := e.b.WatchOnce(ctx, t0.Add(at)); err != nil {
			t.Fatal(err)
		}
	}
	watch(5 * time.Second)
	watch(10 * time.Second)
	if n := e.outbox(events.BillingLowBalance, u); n != 1 {
		t.Fatalf("low_balance fired %d times, want 1", n)
	}
	if _, err := e.b.Adjust(ctx, admin, u, 1_000_000, "top-up", ""); err != nil {
		t.Fatal(err)
	}
	watch(15 * time.Second) // back above: re-armed
	if _, err := e.b.Adjust(ctx, admin, u, -999_000, "mistake", ""); err != nil {
		t.Fatal(err)
	}
	watch(20 * time.Second) // below again: fires again
	if n := e.outbox(events.BillingLowBalance, u); n != 2 {
		t.Fatalf("low_balance fired %d times, want 2", n)
	}
	if len(e.rel.Calls()) != 0 {
		t.Fatal("force-released with credit left")
	}
}
