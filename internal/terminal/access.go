package terminal

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/apperr"
)

// RecheckInterval is how often an open terminal or SSH connection checks
// that its user may still use the allocation: a member removed from the
// allocation's team loses the connections they had open within it.
var RecheckInterval = 5 * time.Second

// whileAllowed returns a context that ends with ctx, or as soon as the
// allocation is no longer found for userID (they left or were removed from
// its team, or it is gone). A failed check for any other reason (the
// database briefly away) ends nothing.
func whileAllowed(ctx context.Context, allocs Allocations, userID, id uuid.UUID) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		t := time.NewTicker(RecheckInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := allocs.Get(ctx, userID, id); apperr.IsKind(err, apperr.KindNotFound) {
					cancel()
					return
				}
			}
		}
	}()
	return ctx, cancel
}
