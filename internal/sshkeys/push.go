package sshkeys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/allocation"
	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// ConsumerName is the durable consumer that gives running allocations
// their owner's current keys.
const ConsumerName = "sshkeys"

// EventTypes are what the Pusher acts on: a user's keys changed, or an
// allocation became active (its provision carried the keys of an earlier
// moment, so a key added meanwhile reaches it now).
var EventTypes = []string{events.SSHKeysChanged, events.AllocationActive}

// Pusher is the worker role's consumer that puts each running allocation's
// keys in place on its node (a set_keys task for the agent runtime) when
// they change. Level-triggered: it always sends the whole current set, so a
// redelivered or late event does no harm.
type Pusher struct {
	st      *store.Store
	keys    *Service
	runtime allocation.KeySetter
}

// NewPusher pushes through rt the keys keys reads from st.
func NewPusher(st *store.Store, keys *Service, rt allocation.KeySetter) *Pusher {
	return &Pusher{st: st, keys: keys, runtime: rt}
}

// HandleEvent is the consumer.Handler.
func (p *Pusher) HandleEvent(ctx context.Context, env events.Envelope) error {
	switch env.Type {
	case events.SSHKeysChanged:
		var e events.SSHKeys
		if err := json.Unmarshal(env.Data, &e); err != nil {
			return fmt.Errorf("decode %s: %w", env.Type, err)
		}
		rows, err := p.st.ListUserActiveAllocations(ctx, e.UserID)
		if err != nil {
			return fmt.Errorf("list active allocations of %s: %w", e.UserID, err)
		}
		// Every allocation is tried even when one fails; the event is
		// redelivered (and all are sent again) while any failed.
		var errs []error
		for _, row := range rows {
			errs = append(errs, p.push(ctx, allocation.WorkloadOf(row)))
		}
		return errors.Join(errs...)
	case events.AllocationActive:
		var a events.Allocation
		if err := json.Unmarshal(env.Data, &a); err != nil {
			return fmt.Errorf("decode %s: %w", env.Type, err)
		}
		// The allocation and its keys in one round trip.
		var row db.Allocation
		var keys []string
		var rowErr, keysErr error
		err := p.st.Together(ctx,
			func(q *db.Queries) error {
				row, rowErr = q.GetAllocation(ctx, db.GetAllocationParams{ID: a.AllocationID})
				return nil
			},
			func(q *db.Queries) error { keys, keysErr = q.AllocationAuthorizedKeys(ctx, a.AllocationID); return nil })
		if err == nil {
			err = rowErr
		}
		if store.IsNoRows(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("get allocation %s: %w", a.AllocationID, err)
		}
		if row.Status != string(allocation.StatusActive) || !row.NodeID.Valid {
			return nil // moved on: nothing to give keys to
		}
		if keysErr != nil {
			return fmt.Errorf("list keys of allocation %s: %w", a.AllocationID, keysErr)
		}
		return p.set(ctx, allocation.WorkloadOf(row), keys)
	}
	return nil
}

// PushNode gives every active allocation on nodeID its current keys: the
// agent runtime calls it when a node's agent connects, so a change made
// while the node was unreachable reaches it then. Failures are logged; the
// next change or connection tries again.
func (p *Pusher) PushNode(ctx context.Context, nodeID uuid.UUID) {
	rows, err := p.st.ListNodeActiveAllocations(ctx, uuid.NullUUID{UUID: nodeID, Valid: true})
	if err != nil {
		slog.WarnContext(ctx, "ssh keys: list node allocations", "node_id", nodeID, "err", err)
		return
	}
	for _, row := range rows {
		if err := p.push(ctx, allocation.WorkloadOf(row)); err != nil {
			slog.WarnContext(ctx, "ssh keys: push at connect", "node_id", nodeID, "allocation_id", row.ID, "err", err)
		}
	}
}

// push sends w its keys. A node whose agent is not connected is skipped,
// not retried: PushNode sends them when it connects again, so an offline
// node does not keep an event failing into the dead letters.
func (p *Pusher) push(ctx context.Context, w allocation.Workload) error {
	keys, err := p.keys.AllocationKeys(ctx, w.AllocationID)
	if err != nil {
		return err
	}
	return p.set(ctx, w, keys)
}

// set is push with the keys read.
func (p *Pusher) set(ctx context.Context, w allocation.Workload, keys []string) error {
	err := p.runtime.SetKeys(ctx, w, keys)
	if errors.Is(err, allocation.ErrNodeUnreachable) {
		slog.InfoContext(ctx, "ssh keys: node not connected; keys follow when it is",
			"node_id", w.NodeID, "allocation_id", w.AllocationID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("set keys of allocation %s: %w", w.AllocationID, err)
	}
	return nil
}
