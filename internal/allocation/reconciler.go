package allocation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Reconciler is the level-triggered safety net of the lifecycle. Each pass:
//   - drives provisions stuck in requested or provisioning for longer than
//     Deadline (a lost event, a crashed worker, a hung runtime) again, up to
//     MaxAttempts, then fails them;
//   - retries every release the node has not confirmed (releasing and
//     release_failed) once its backoff has passed, or after Deadline when
//     no attempt was ever reported: a release is an intent that is retried
//     until the node confirms it, never dropped;
//   - turns a release unconfirmed for ReleaseDeadline into release_failed,
//     an operator alarm (and keeps retrying it);
//   - ends as failed (node_lost) what is held on nodes that stayed offline
//     for NodeLostGrace of control-plane time.
type Reconciler struct {
	worker          *Worker
	Deadline        time.Duration
	MaxAttempts     int
	Interval        time.Duration
	ReleaseDeadline time.Duration
	NodeLostGrace   time.Duration
}

// NewReconciler returns a reconciler over w's allocations.
func NewReconciler(w *Worker, deadline time.Duration) *Reconciler {
	return &Reconciler{
		worker: w, Deadline: deadline, MaxAttempts: 3, Interval: min(deadline/4, 5*time.Second),
		ReleaseDeadline: 10 * time.Minute, NodeLostGrace: 10 * time.Minute,
	}
}

// Run reconciles every Interval until ctx ends.
func (r *Reconciler) Run(ctx context.Context) {
	t := time.NewTicker(max(r.Interval, 100*time.Millisecond))
	defer t.Stop()
	for {
		if n, err := r.Once(ctx); err != nil && ctx.Err() == nil {
			slog.Warn("reconcile allocations", "err", err)
		} else if n > 0 {
			slog.Info("reconciled allocations", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Once runs one pass and reports how many allocations it acted on.
func (r *Reconciler) Once(ctx context.Context) (int, error) {
	var total int
	var errs []error
	for _, pass := range []func(context.Context) (int, error){r.stuckProvisions, r.overdueReleases, r.dueReleases, r.lostNodes} {
		n, err := pass(ctx)
		total += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return total, errors.Join(errs...)
}

func interval(d time.Duration) pgtype.Interval {
	return pgtype.Interval{Microseconds: d.Microseconds(), Valid: true}
}

// stuckProvisions retries or fails allocations stuck before active.
func (r *Reconciler) stuckProvisions(ctx context.Context) (int, error) {
	svc := r.worker.svc
	var retry []db.Allocation
	err := svc.store.InTx(ctx, func(tx *store.Store) error {
		stuck, err := tx.ListStuckAllocations(ctx, db.ListStuckAllocationsParams{Deadline: interval(r.Deadline), Batch: 100})
		if err != nil {
			return fmt.Errorf("list stuck allocations: %w", err)
		}
		retry = retry[:0]
		for _, row := range stuck {
			if int(row.Attempts) >= r.MaxAttempts {
				reason := fmt.Sprintf("gave up after %d attempts stuck in %s", row.Attempts, row.Status)
				if _, err := svc.transition(ctx, tx, row, StatusFailed, change{failureReason: reason}); err != nil {
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

// overdueReleases raises the alarm on releases unconfirmed past the
// release deadline.
func (r *Reconciler) overdueReleases(ctx context.Context) (int, error) {
	svc := r.worker.svc
	var n int
	err := svc.store.InTx(ctx, func(tx *store.Store) error {
		rows, err := tx.ListOverdueReleases(ctx, db.ListOverdueReleasesParams{Deadline: interval(r.ReleaseDeadline), Batch: 100})
		if err != nil {
			return fmt.Errorf("list overdue releases: %w", err)
		}
		for _, row := range rows {
			reason := fmt.Sprintf("release not confirmed by the node within %s after %d attempts", r.ReleaseDeadline, row.Attempts)
			if row.LastError != "" {
				reason += "; last error: " + row.LastError
			}
			if _, err := svc.transition(ctx, tx, row, StatusReleaseFailed, change{failureReason: truncate(reason, 1000)}); err != nil {
				return err
			}
		}
		n = len(rows)
		return nil
	})
	if n > 0 {
		slog.Error("releases unconfirmed past the deadline; now release_failed and still retried", "count", n, "deadline", r.ReleaseDeadline)
	}
	return n, err
}

// dueReleases claims the releases whose retry is due and drives them.
func (r *Reconciler) dueReleases(ctx context.Context) (int, error) {
	svc := r.worker.svc
	rows, err := svc.store.ClaimDueReleases(ctx, db.ClaimDueReleasesParams{
		Lease: interval(r.worker.StepTimeout + 10*time.Second), Deadline: interval(r.Deadline), Batch: 50,
	})
	if err != nil {
		return 0, fmt.Errorf("claim due releases: %w", err)
	}
	for _, row := range rows {
		if err := r.worker.release(ctx, row); err != nil && ctx.Err() == nil {
			slog.Warn("retry release", "allocation_id", row.ID, "status", row.Status, "err", err)
		}
	}
	return len(rows), nil
}

// lostNodes ends what is held on nodes lost past the grace.
func (r *Reconciler) lostNodes(ctx context.Context) (int, error) {
	svc := r.worker.svc
	var n int
	err := svc.store.InTx(ctx, func(tx *store.Store) error {
		rows, err := tx.ListLostNodeAllocations(ctx, db.ListLostNodeAllocationsParams{GraceMicros: r.NodeLostGrace.Microseconds(), Batch: 100})
		if err != nil {
			return fmt.Errorf("list allocations on lost nodes: %w", err)
		}
		for _, row := range rows {
			if _, err := svc.transition(ctx, tx, row, StatusFailed, change{failureReason: ReasonNodeLost, observed: "lost"}); err != nil {
				return err
			}
		}
		n = len(rows)
		return nil
	})
	if n > 0 {
		slog.Warn("allocations on nodes lost past the grace period failed", "count", n, "grace", r.NodeLostGrace)
	}
	return n, err
}
