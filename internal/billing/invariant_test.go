package billing_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/billing"
	"github.com/gpuaas/gpuaas/internal/events"
)

// Many concurrent opens, closes (duplicated and reordered), meter and
// watch runs and adjustments across several users; afterwards the ledger
// sums to zero, every running total equals its entries, and every closed
// window was debited exactly its charge.
func TestRandomisedLedgerInvariants(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d (set it here to replay the same operations)", seed)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	ctx := context.Background()
	e := newEnv(t)
	admin := e.user()

	users := make([]uuid.UUID, 5)
	for i := range users {
		users[i] = e.user()
		e.credit(users[i], rng.Int64N(50_000))
	}
	type window struct {
		id, user     uuid.UUID
		price        int64
		start, end   time.Time
		active, done events.Envelope
	}
	var windows []window
	var ops []func() error
	for range 40 {
		u := users[rng.IntN(len(users))]
		start := t0.Add(time.Duration(rng.Int64N(3_600_000)) * time.Millisecond)
		end := start.Add(time.Duration(1+rng.Int64N(7_200_000)) * time.Millisecond)
		w := window{user: u, price: 1 + rng.Int64N(500_000), start: start, end: end}
		w.id = e.allocation(u, w.price, start)
		w.active, w.done = event(events.AllocationActive, w.id, u, start), event(events.AllocationReleased, w.id, u, end)
		windows = append(windows, w)
		for range 1 + rng.IntN(2) { // duplicates: redeliveries of the same event
			ops = append(ops, func() error { return e.b.HandleEvent(ctx, w.active) }, func() error { return e.b.HandleEvent(ctx, w.done) })
		}
		if rng.IntN(4) == 0 { // a release that failed first
			ops = append(ops, func() error {
				return e.b.HandleEvent(ctx, event(events.AllocationReleaseFailed, w.id, u, start.Add(end.Sub(start)/2)))
			})
		}
	}
	for range 30 {
		at := t0.Add(time.Duration(rng.Int64N(11_000)) * time.Second)
		ops = append(ops, func() error { return e.b.MeterOnce(ctx, at) })
	}
	for range 10 {
		at := t0.Add(time.Duration(rng.Int64N(11_000)) * time.Second)
		ops = append(ops, func() error { return e.b.WatchOnce(ctx, at) })
	}
	for i := range 30 {
		u, amount := users[rng.IntN(len(users))], rng.Int64N(20_001)-10_000
		if amount == 0 {
			amount = 1
		}
		key := ""
		if i%3 == 0 {
			key = "retry" // the same key from one admin to one user posts once
		}
		ops = append(ops, func() error { _, err := e.b.Adjust(ctx, admin, u, amount, "random", key); return err })
	}
	rng.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })

	var wg sync.WaitGroup
	work := make(chan func() error)
	for range 12 {
		wg.Go(func() {
			for op := range work {
				if err := op(); err != nil {
					t.Error(err)
				}
			}
		})
	}
	for _, op := range ops {
		work <- op
	}
	close(work)
	wg.Wait()

	e.checkLedger()
	for _, w := range windows {
		r := e.usage(w.id)
		secs := billing.Seconds(w.start, w.end)
		if r.ended == nil || r.secs != secs {
			t.Errorf("allocation %s: window %v..%v (%d s), want closed after %d s", w.id, r.started, r.ended, r.secs, secs)
			continue
		}
		if total, _ := e.debited(w.id); total != billing.Charge(secs, w.price) || r.charged != total {
			t.Errorf("allocation %s: debited %d (recorded %d), want charge(%d s, %d/h) = %d",
				w.id, total, r.charged, secs, w.price, billing.Charge(secs, w.price))
		}
	}
}
