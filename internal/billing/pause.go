package billing

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// PauseNode stops the clock of every open window on a node that went
// offline, at lastSeen: the last heartbeat that saw it. It runs in the
// transaction that marks the node offline, so the two never disagree.
//
// A window that already closed after lastSeen (its release was asked while
// nobody could yet tell the node was gone) is cut back to lastSeen, and
// the difference refunded under its own key, so no window runs past the
// last heartbeat that saw it.
func (b *Billing) PauseNode(ctx context.Context, tx *store.Store, nodeID uuid.UUID, lastSeen time.Time) error {
	lastSeen = dbTime(lastSeen)
	node := uuid.NullUUID{UUID: nodeID, Valid: true}
	n, err := tx.PauseNodeUsage(ctx, db.PauseNodeUsageParams{NodeID: node, LastSeen: lastSeen})
	if err != nil {
		return fmt.Errorf("pause usage on node %s: %w", nodeID, err)
	}
	late, err := tx.LockNodeUsageEndedAfter(ctx, db.LockNodeUsageEndedAfterParams{NodeID: node, LastSeen: lastSeen})
	if err != nil {
		return fmt.Errorf("read windows closed after the last heartbeat: %w", err)
	}
	for _, rec := range late {
		_, ds, err := b.settle(ctx, tx, rec, lastSeen, fmt.Sprintf("offline:%d", lastSeen.UnixMicro()))
		if err != nil {
			return err
		}
		b.log.Info("usage window cut back to the node's last heartbeat", "allocation_id", rec.AllocationID, "ended_at", lastSeen)
		b.count(ds)
	}
	if n > 0 {
		b.log.Info("billing paused for an offline node", "node_id", nodeID, "windows", n, "last_seen", lastSeen)
	}
	return nil
}

// ResumeNode restarts the clock of the paused windows of the allocations a
// node's agent reports running again, at `at`: the gap since the pause is
// not charged. Windows of workloads the node no longer runs stay paused.
func (b *Billing) ResumeNode(ctx context.Context, nodeID uuid.UUID, running []uuid.UUID, at time.Time) error {
	if len(running) == 0 {
		return nil
	}
	at = dbTime(at)
	return b.st.InTx(ctx, func(tx *store.Store) error {
		recs, err := tx.LockPausedUsage(ctx, db.LockPausedUsageParams{NodeID: uuid.NullUUID{UUID: nodeID, Valid: true}, Ids: running})
		if err != nil {
			return fmt.Errorf("lock paused usage: %w", err)
		}
		for _, rec := range recs {
			gap := max(at.Sub(*rec.PausedAt), 0)
			if err := tx.ResumeUsage(ctx, db.ResumeUsageParams{AllocationID: rec.AllocationID, GapMicros: gap.Microseconds()}); err != nil {
				return fmt.Errorf("resume usage of allocation %s: %w", rec.AllocationID, err)
			}
			b.log.Info("billing resumed; the offline gap is not charged", "allocation_id", rec.AllocationID, "gap", gap)
		}
		return nil
	})
}
