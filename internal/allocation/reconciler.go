package allocation

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Reconciler finds allocations stuck in requested, provisioning or
// releasing for longer than Deadline (a lost event, a crashed worker, a
// hung runtime) and drives them again, up to MaxAttempts; then it fails
// them with a reason: failed for a provision, release_failed for a release.
type Reconciler struct {
	worker      *Worker
	Deadline    time.Duration
	MaxAttempts int
	Interval    time.Duration
}

// NewReconciler returns a reconciler over w's allocations.
func NewReconciler(w *Worker, deadline time.Duration) *Reconciler {
	return &Reconciler{worker: w, Deadline: deadline, MaxAttempts: 3, Interval: deadline / 4}
}

// Run reconciles every Interval until ctx ends.
func (r *Reconciler) Run(ctx context.Context) {
	t := time.NewTicker(max(r.Interval, time.Second))
	defer t.Stop()
	for {
		if n, err := r.Once(ctx); err != nil && ctx.Err() == nil {
			slog.Warn("reconcile allocations", "err", err)
		} else if n > 0 {
			slog.Info("reconciled stuck allocations", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Once handles one batch of stuck allocations and reports how many.
func (r *Reconciler) Once(ctx context.Context) (int, error) {
	svc := r.worker.svc
	var retry []db.Allocation
	err := svc.store.InTx(ctx, func(tx *store.Store) error {
		stuck, err := tx.ListStuckAllocations(ctx, db.ListStuckAllocationsParams{
			Deadline: pgtype.Interval{Microseconds: r.Deadline.Microseconds(), Valid: true}, Batch: 100,
		})
		if err != nil {
			return fmt.Errorf("list stuck allocations: %w", err)
		}
		retry = retry[:0]
		for _, row := range stuck {
			if int(row.Attempts) >= r.MaxAttempts {
				to, reason := StatusFailed, fmt.Sprintf("gave up after %d attempts stuck in %s", row.Attempts, row.Status)
				if Status(row.Status) == StatusReleasing {
					to = StatusReleaseFailed
				}
				if _, err := svc.transition(ctx, tx, row, to, change{failureReason: reason}); err != nil {
					return err
				}
				continue
			}
			bumped, err := tx.BumpAllocationAttempts(ctx, db.BumpAllocationAttemptsParams{ID: row.ID, Status: row.Status})
			if err != nil {
				return fmt.Errorf("count attempt: %w", err)
			}
			retry = append(retry, bumped)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, row := range retry {
		if err := r.worker.Drive(ctx, row.ID); err != nil {
			slog.Warn("retry stuck allocation", "allocation_id", row.ID, "status", row.Status, "err", err)
		}
	}
	return len(retry), nil
}
