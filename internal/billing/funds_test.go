package billing_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/allocation"
	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/store"
)

// TestFundsBoundNeverExceedsTheExactFigure: the lower bound a create's
// runway check trusts is never above what the user can really spend, over
// random windows (sub-second starts, interim debits, paused gaps, a pause
// still running), and without pauses it is close: within two minor units
// and a second's price per window (a pause makes it looser, never wrong).
func TestFundsBoundNeverExceedsTheExactFigure(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0xf0d5))
	ctx := context.Background()
	e := newEnv(t)
	for round := range 6 {
		u := e.user()
		e.credit(u, rng.Int64N(1_000_000))
		var slack int64
		paused := false
		var last uuid.UUID
		windows := 1 + rng.IntN(8)
		for range windows {
			price := 1 + rng.Int64N(900_000)
			start := t0.Add(time.Duration(rng.Int64N(7_200_000)) * time.Millisecond)
			id := e.allocation(u, price, start)
			last = id
			e.handle(event(events.AllocationActive, id, u, start))
			switch k := rng.IntN(4); k {
			case 0: // a closed gap
				e.exec(`UPDATE usage_records SET paused_micros = $2 WHERE allocation_id = $1`, id, rng.Int64N(600_000_000))
				paused = true
			case 1: // paused now
				e.exec(`UPDATE usage_records SET paused_at = started_at + $2 * interval '1 microsecond' WHERE allocation_id = $1`,
					id, rng.Int64N(3_600_000_000))
				paused = true
			}
			slack += 2 + price/3600 + 1
		}
		if rng.IntN(2) == 0 { // interim debits
			if err := e.b.MeterOnce(ctx, t0.Add(time.Duration(7_200+rng.Int64N(3_600))*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		e.clock.set(t0.Add(time.Duration(10_800_000+rng.Int64N(3_600_000)) * time.Millisecond))
		var f allocation.Funds
		var exact int64
		var skuID string
		if err := e.st.Pool().QueryRow(ctx, `SELECT sku_id FROM allocations WHERE id = $1`, last).Scan(&skuID); err != nil {
			t.Fatal(err)
		}
		reads, funds := e.b.LockFunds(ctx, u, skuID)
		err := e.st.InTx(ctx, func(tx *store.Store) error {
			if err := tx.Together(ctx, reads...); err != nil {
				return err
			}
			sku, err := tx.GetSKU(ctx, skuID)
			if err != nil {
				return err
			}
			if f, err = funds(tx, sku); err != nil {
				return err
			}
			exact, err = f.Exact(ctx)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if f.AtLeast > exact {
			t.Fatalf("round %d: bound %d is above the exact figure %d", round, f.AtLeast, exact)
		}
		if !paused && exact-f.AtLeast > slack {
			t.Fatalf("round %d: bound %d is %d below the exact figure %d (allowed %d)", round, f.AtLeast, exact-f.AtLeast, exact, slack)
		}
		var burn int64
		if err := e.st.Pool().QueryRow(ctx, `SELECT COALESCE(sum(price_per_hour_minor), 0) FROM allocations WHERE user_id = $1 AND status = 'active'`, u).Scan(&burn); err != nil {
			t.Fatal(err)
		}
		if f.RunningBurn != burn {
			t.Fatalf("round %d: running burn %d, want %d", round, f.RunningBurn, burn)
		}
	}
}
