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

// LockFunds locks the user's account in the SKU's currency for the rest of
// the create's transaction and, in the same round trip, reads their
// position for its runway check: what they run, and a lower bound of what
// they can spend (the balance less an upper bound of unbilled usage). Both
// statements go with the create's first reads (reads); funds, once those
// are back, returns the figures. Exact, when called, is what they can spend
// exactly (balance less usage accrued and not yet debited, the meter's own
// figure), for the check the bound cannot settle. It is the lifecycle's
// allocation.FundsLocker.
func (b *Billing) LockFunds(ctx context.Context, userID uuid.UUID, skuID string) (reads []func(q *db.Queries) error, funds func(tx *store.Store, sku db.Sku) (allocation.Funds, error)) {
	now := dbTime(b.now())
	var fig db.RunwayFiguresRow
	var figErr error
	lock := ledger.LockBalanceForSKU(ctx, userID, skuID, func(q *db.Queries) error {
		fig, figErr = q.RunwayFigures(ctx, db.RunwayFiguresParams{UserID: userID, SkuID: skuID, Now: now})
		return nil
	})
	funds = func(tx *store.Store, sku db.Sku) (allocation.Funds, error) {
		bal, err := lock.Balance(tx, sku.Currency)
		if err != nil {
			return allocation.Funds{}, err
		}
		if figErr != nil {
			return allocation.Funds{}, fmt.Errorf("read runway figures: %w", figErr)
		}
		currency := sku.Currency
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
	return lock.Reads(), funds
}
