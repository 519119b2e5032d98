package outbox

import (
	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/store"
)

// WithBeforeCommit runs fn in a batch's transaction after the batch is
// published and marked, just before commit; an error rolls the batch
// back, as a crash there would.
func WithBeforeCommit(fn func(tx *store.Store, ids []uuid.UUID) error) Option {
	return func(r *Relay) { r.beforeCommit = fn }
}
