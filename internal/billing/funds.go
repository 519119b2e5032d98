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

// LockFunds locks the user's account in currency for the rest of tx and
// reads their position for a create's runway check in one more statement:
// what they run, and a lower bound of what they can spend (the balance less
// an upper bound of unbilled usage). Exact, when called, is what they can
// spend exactly (balance less usage accrued and not yet debited, the
// meter's own figure), for the check the bound cannot settle. It is the
// lifecycle's allocation.FundsLocker.
func (b *Billing) LockFunds(ctx context.Context, tx *store.Store, userID uuid.UUID, currency string) (allocation.Funds, error) {
	bal, err := ledger.LockBalance(ctx, tx, userID, currency)
	if err != nil {
		return allocation.Funds{}, err
	}
	now := dbTime(b.now())
	fig, err := tx.RunwayFigures(ctx, db.RunwayFiguresParams{UserID: userID, Currency: currency, Now: now})
	if err != nil {
		return allocation.Funds{}, fmt.Errorf("read runway figures: %w", err)
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
