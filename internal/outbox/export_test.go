package outbox

import "github.com/google/uuid"

// WithBeforeCommit runs fn after a batch is published and marked, just
// before commit; an error rolls the batch back, as a crash there would.
func WithBeforeCommit(fn func(ids []uuid.UUID) error) Option {
	return func(r *Relay) { r.beforeCommit = fn }
}
