package consumer

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// ApplyOnce runs fn in a transaction that also records that consumer
// applied eventID. If it already had, fn is not called and applied is
// false. Concurrent duplicates are safe: the second blocks on the first's
// row and sees it once the first commits.
func ApplyOnce(ctx context.Context, st *store.Store, consumer string, eventID uuid.UUID, fn func(tx *store.Store) error) (applied bool, err error) {
	err = st.InTx(ctx, func(tx *store.Store) error {
		n, err := tx.MarkApplied(ctx, db.MarkAppliedParams{Consumer: consumer, EventID: eventID})
		if err != nil {
			return fmt.Errorf("mark event %s applied by %s: %w", eventID, consumer, err)
		}
		if n == 0 {
			return nil
		}
		if err := fn(tx); err != nil {
			return err
		}
		applied = true
		return nil
	})
	if err != nil {
		return false, err
	}
	return applied, nil
}
