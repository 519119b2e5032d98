package billing

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/consumer"
	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/ledger"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// HandleEvent applies one allocation event, exactly once per event id:
//   - allocation.active opens the usage window at the transition time;
//   - allocation.released (and allocation.failed, should an allocation ever
//     fail after running) closes it at the transition time and posts the
//     remaining charge;
//   - allocation.release_failed, and everything else, changes nothing: the
//     workload may still run, so the window stays open and metered.
//
// Events whose transition settled the window itself (usage_settled: the
// lifecycle calls OpenUsageIn and CloseUsageIn in its transactions) need
// nothing and cost no transaction; the rest, from versions before that,
// are applied as above.
//
// Safe under redelivery, duplicates and reordering, also concurrently.
func (b *Billing) HandleEvent(ctx context.Context, env events.Envelope) error {
	switch env.Type {
	case events.AllocationActive, events.AllocationReleased, events.AllocationFailed:
	default:
		return nil
	}
	var p events.Allocation
	if err := json.Unmarshal(env.Data, &p); err != nil {
		return fmt.Errorf("decode %s event %s: %w", env.Type, env.ID, err)
	}
	if p.UsageSettled {
		return nil // the transition opened or closed the window in its own transaction
	}
	var ds []debit
	_, err := consumer.ApplyOnce(ctx, b.st, ConsumerName, env.ID, func(tx *store.Store) error {
		if env.Type == events.AllocationActive {
			_, err := tx.OpenUsage(ctx, db.OpenUsageParams{AllocationID: p.AllocationID, StartedAt: dbTime(p.At)})
			if err != nil {
				return fmt.Errorf("open usage window: %w", err)
			}
			return nil
		}
		var err error
		_, ds, err = b.closeWindow(ctx, tx, p.AllocationID, p.At)
		return err
	})
	if err != nil {
		return fmt.Errorf("apply %s for allocation %s: %w", env.Type, p.AllocationID, err)
	}
	b.count(ds)
	return nil
}

// lockOrOpen locks the allocation's usage row, first opening it from the
// allocation's own active_at when the active event has not been applied
// yet (events may arrive out of order). ok is false when the allocation
// never became active, so there is nothing to bill.
func lockOrOpen(ctx context.Context, tx *store.Store, allocationID uuid.UUID) (rec db.UsageRecord, ok bool, err error) {
	rec, err = tx.LockUsage(ctx, allocationID)
	if err == nil {
		return rec, true, nil
	}
	if !store.IsNoRows(err) {
		return rec, false, fmt.Errorf("lock usage window: %w", err)
	}
	a, err := tx.GetAllocationForUsage(ctx, allocationID)
	if store.IsNoRows(err) {
		return rec, false, nil
	}
	if err != nil {
		return rec, false, fmt.Errorf("read allocation: %w", err)
	}
	if a.ActiveAt == nil {
		return rec, false, nil
	}
	// A concurrent opener makes this wait for its commit and then insert
	// nothing; either way the row exists afterwards.
	if _, err := tx.OpenUsage(ctx, db.OpenUsageParams{AllocationID: allocationID, StartedAt: dbTime(*a.ActiveAt)}); err != nil {
		return rec, false, fmt.Errorf("open usage window: %w", err)
	}
	rec, err = tx.LockUsage(ctx, allocationID)
	if err != nil {
		return rec, false, fmt.Errorf("lock usage window: %w", err)
	}
	return rec, true, nil
}

// closeWindow ends the allocation's window at endedAt and posts the rest of
// its charge under the one key "usage:<id>:close". A window already closed
// is left alone.
//
// The window never runs past the release request: whenever the closing
// event arrives, and whatever the node did after the request, endedAt is
// capped at the allocation's release_requested_at.
func (b *Billing) closeWindow(ctx context.Context, tx *store.Store, allocationID uuid.UUID, endedAt time.Time) (db.UsageRecord, []debit, error) {
	rec, ok, err := lockOrOpen(ctx, tx, allocationID)
	if err != nil || !ok || rec.EndedAt != nil {
		return rec, nil, err
	}
	a, err := tx.GetAllocationForUsage(ctx, allocationID)
	if err != nil {
		return rec, nil, fmt.Errorf("read allocation: %w", err)
	}
	if a.ReleaseRequestedAt != nil && a.ReleaseRequestedAt.Before(endedAt) {
		endedAt = *a.ReleaseRequestedAt
	}
	return b.closeRecord(ctx, tx, rec, endedAt)
}

// OpenUsageIn opens an allocation's window at `at` inside tx, the
// transaction that makes it active (an open window is left alone, so the
// active event changes nothing after it). It is the lifecycle's
// allocation.UsageCloser for opening.
func (b *Billing) OpenUsageIn(ctx context.Context, tx *store.Store, allocationID uuid.UUID, at time.Time) error {
	// Nothing reads what it did, so it rides on the transaction's next
	// round trip (its audit row's, or the COMMIT).
	if _, err := tx.Later().OpenUsage(ctx, db.OpenUsageParams{AllocationID: allocationID, StartedAt: dbTime(at)}); err != nil {
		return fmt.Errorf("open usage window: %w", err)
	}
	return nil
}

// CloseUsageIn ends an allocation's window at `at` inside tx, the
// transaction that asks for its release or ends it; an allocation that
// never ran, or whose window is closed, is left alone. It is the
// lifecycle's allocation.UsageCloser.
func (b *Billing) CloseUsageIn(ctx context.Context, tx *store.Store, allocationID uuid.UUID, at time.Time) error {
	_, ds, err := b.closeWindow(ctx, tx, allocationID, at)
	if err != nil {
		return err
	}
	b.count(ds)
	return nil
}

// closeRecord is closeWindow for an open window rec already locked by
// lockOrOpen: it ends at endedAt, or where the window is paused if that is
// earlier (its node went away: charged up to the last heartbeat).
func (b *Billing) closeRecord(ctx context.Context, tx *store.Store, rec db.UsageRecord, endedAt time.Time) (db.UsageRecord, []debit, error) {
	ended := dbTime(endedAt)
	if rec.PausedAt != nil && rec.PausedAt.Before(ended) {
		ended = *rec.PausedAt
	}
	return b.settle(ctx, tx, rec, ended, "close")
}

// settle ends rec's window at ended and posts, under the step's key, the
// difference between what its billable seconds cost and what was charged:
// a debit for the rest, or a refund when the meter (or a close) charged
// past it. A key already posted with a non-zero difference is an error:
// the window and the ledger disagree.
func (b *Billing) settle(ctx context.Context, tx *store.Store, rec db.UsageRecord, ended time.Time, step string) (db.UsageRecord, []debit, error) {
	if ended.Before(rec.StartedAt) {
		ended = rec.StartedAt
	}
	secs := Billable(rec, ended)
	total := Charge(secs, rec.PricePerHourMinor)
	rest := total - rec.ChargedMinor
	posted, err := ledger.Post(ctx, tx, usagePosting(rec, step, rest))
	if err != nil {
		return rec, nil, err
	}
	if rest != 0 && !posted {
		return rec, nil, fmt.Errorf("settle allocation %s: posting %s exists but the window disagrees", rec.AllocationID, step)
	}
	if err := tx.SetUsageCharged(ctx, db.SetUsageChargedParams{
		AllocationID: rec.AllocationID, ChargedMinor: total, ChargedSeconds: secs, MeteredAt: ended, EndedAt: &ended,
	}); err != nil {
		return rec, nil, fmt.Errorf("end usage window: %w", err)
	}
	rec.EndedAt, rec.ChargedMinor, rec.ChargedSeconds, rec.MeteredAt = &ended, total, secs, ended
	return rec, []debit{{rec.Currency, rest}}, nil
}

// meterRecord brings an open window's debits up to now. The key names the
// seconds charged after the step, which only ever grow, so each step has
// its own key and a repeat of the same step posts nothing.
func (b *Billing) meterRecord(ctx context.Context, tx *store.Store, rec db.UsageRecord, now time.Time) ([]debit, error) {
	now = dbTime(now)
	secs := Billable(rec, now)
	if secs <= rec.ChargedSeconds {
		// Nothing new (or a clock behind the last run): only move the mark.
		if now.After(rec.MeteredAt) {
			err := tx.SetUsageCharged(ctx, db.SetUsageChargedParams{
				AllocationID: rec.AllocationID, ChargedMinor: rec.ChargedMinor, ChargedSeconds: rec.ChargedSeconds, MeteredAt: now,
			})
			if err != nil {
				return nil, fmt.Errorf("mark usage metered: %w", err)
			}
		}
		return nil, nil
	}
	total := Charge(secs, rec.PricePerHourMinor)
	delta := total - rec.ChargedMinor
	if delta > 0 {
		posted, err := ledger.Post(ctx, tx, usagePosting(rec, fmt.Sprintf("upto:%d", secs), delta))
		if err != nil {
			return nil, err
		}
		if !posted {
			return nil, fmt.Errorf("meter allocation %s: step %d was posted but not recorded", rec.AllocationID, secs)
		}
	}
	if err := tx.SetUsageCharged(ctx, db.SetUsageChargedParams{
		AllocationID: rec.AllocationID, ChargedMinor: max(total, rec.ChargedMinor), ChargedSeconds: secs, MeteredAt: now,
	}); err != nil {
		return nil, fmt.Errorf("record interim charge: %w", err)
	}
	return []debit{{rec.Currency, delta}}, nil
}

// usagePosting debits amount (a credit when negative) for rec's allocation.
func usagePosting(rec db.UsageRecord, step string, amount int64) ledger.Posting {
	return ledger.Posting{
		Key:          "usage:" + rec.AllocationID.String() + ":" + step,
		Kind:         ledger.KindUsage,
		UserID:       rec.UserID,
		AllocationID: rec.AllocationID,
		Memo:         "usage " + rec.SkuID + " " + step,
		Currency:     rec.Currency,
		Amount:       -amount,
	}
}

// CloseAt records, for an allocation whose release failed, when its
// workload actually stopped: the window closes at endedAt and the final
// charge is posted, audited in the same transaction. A release that later
// succeeds changes nothing more.
func (b *Billing) CloseAt(ctx context.Context, actor, allocationID uuid.UUID, endedAt time.Time) (api.UsageRecord, error) {
	now := b.now()
	if endedAt.IsZero() {
		return api.UsageRecord{}, apperr.Invalid("ended_at is required")
	}
	if endedAt.After(now) {
		return api.UsageRecord{}, apperr.Invalid("ended_at must not be in the future")
	}
	var rec db.UsageRecord
	var ds []debit
	err := b.st.InTx(ctx, func(tx *store.Store) error {
		a, err := tx.GetAllocationForUsage(ctx, allocationID)
		if store.IsNoRows(err) {
			return apperr.NotFound("allocation")
		}
		if err != nil {
			return fmt.Errorf("read allocation: %w", err)
		}
		if a.Status != "release_failed" {
			return apperr.Conflict("invalid_state", "allocation is %s; only a release_failed allocation's usage can be closed by hand", a.Status)
		}
		open, ok, err := lockOrOpen(ctx, tx, allocationID)
		if err != nil {
			return err
		}
		if !ok || open.EndedAt != nil {
			return apperr.Conflict("invalid_state", "allocation has no open usage window")
		}
		if endedAt.Before(open.StartedAt) {
			return apperr.Invalid("ended_at is before the window started (%s)", open.StartedAt.Format(time.RFC3339))
		}
		rec, ds, err = b.closeRecord(ctx, tx, open, endedAt)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx.Queries, audit.Entry{
			Actor: actor, Action: audit.ActionBillingUsageClose, TargetType: "allocation", TargetID: allocationID.String(),
			Metadata: map[string]any{
				"ended_at": rec.EndedAt.Format(time.RFC3339Nano), "seconds": rec.ChargedSeconds, "amount_minor": rec.ChargedMinor,
			},
		})
	})
	if err != nil {
		return api.UsageRecord{}, fmt.Errorf("close usage of allocation %s: %w", allocationID, err)
	}
	b.count(ds)
	return usageItem(rec, now), nil
}
