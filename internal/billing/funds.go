package billing

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/allocation"
	"github.com/gpuaas/gpuaas/internal/ledger"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// LockFunds locks the user's account in currency for the rest of tx and,
// in the same round trip, reads their position for a create's runway
// check: what they run, and a lower bound of what they can spend (the
// balance less an upper bound of unbilled usage). Exact, when called, is what they can
// spend exactly (balance less usage accrued and not yet debited, the
// meter's own figure), for the check the bound cannot settle. It is the
// lifecycle's allocation.FundsLocker.
func (b *Billing) LockFunds(ctx context.Context, tx *store.Store, userID uuid.UUID, currency string) (allocation.Funds, error) {
	now := dbTime(b.now())
	var fig db.RunwayFiguresRow
	bal, err := ledger.LockBalanceWith(ctx, tx, userID, currency, func(q *db.Queries) (err error) {
		if fig, err = q.RunwayFigures(ctx, db.RunwayFiguresParams{UserID: userID, Currency: currency, Now: now}); err != nil {
			return fmt.Errorf("read runway figures: %w", err)
		}
		return nil
	})
	if err != nil {
		return allocation.Funds{}, err
	}
	return allocation.Funds{
		RunningBurn: fig.RunningBurn,
		AtLeast:     bal - fig.UnbilledBound,
		Exact: func(ctx context.Context) (int64, error) {
			recs, err := tx.ListOpenUsage(ctx, db.ListOpenUsageParams{UserID: uuid.NullUUID{UUID: userID, Valid: true}, Currency: &currency})
			if err != nil {
				return 0, fmt.Errorf("list open usage: %w", err)
			}
			unbilled, _ := accrued(recs, now)
			return bal - unbilled, nil
		},
	}, nil
}
