package inventory

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// MaxDrainAhead bounds how far ahead a drain's deadline may be.
const MaxDrainAhead = 30 * 24 * time.Hour

// maxDrainReason bounds a drain's reason, which owners are shown.
const maxDrainReason = 500

// WithNaming sets where the service's events go (node.draining).
func WithNaming(n events.Naming) Option { return func(s *Service) { s.naming = n } }

// DrainNode stops new placements on the node at once and schedules the
// release of what still runs on it at req.Deadline. Draining a draining
// node moves its deadline and reason. Its allocations' owners are told
// (a node.draining event, which package notify turns into notifications).
func (s *Service) DrainNode(ctx context.Context, actor, id uuid.UUID, req api.DrainNodeRequest, now time.Time) (api.Node, error) {
	reason := strings.TrimSpace(req.Reason)
	switch {
	case reason == "" || len(reason) > maxDrainReason:
		return api.Node{}, invalidField("reason", "must be 1 to %d characters", maxDrainReason)
	case strings.IndexFunc(reason, func(r rune) bool { return unicode.IsControl(r) && r != '\n' }) >= 0:
		return api.Node{}, invalidField("reason", "must not hold control characters")
	case !req.Deadline.After(now):
		return api.Node{}, invalidField("deadline", "must be in the future (RFC 3339, e.g. %s)",
			now.Add(time.Hour).UTC().Format(time.RFC3339))
	case req.Deadline.After(now.Add(MaxDrainAhead)):
		return api.Node{}, invalidField("deadline", "must be at most 30 days ahead")
	}
	deadline := req.Deadline.UTC()
	var node api.Node
	err := s.store.InTx(ctx, func(tx *store.Store) error {
		n, err := lockNode(ctx, tx, id)
		if err != nil {
			return err
		}
		switch api.NodeAdminState(n.AdminState) {
		case api.NodeAdminStateDisabled, api.NodeAdminStateDecommissioned:
			return apperr.Conflict("invalid_state", "node is %s; only a node in service can be drained", n.AdminState)
		}
		held, err := tx.CountNodeGPUsInUse(ctx, id)
		if err != nil {
			return err
		}
		from := n.AdminState
		if n, err = tx.DrainNode(ctx, db.DrainNodeParams{ID: id, Deadline: &deadline, Reason: reason}); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx.Queries, audit.Entry{
			Actor: actor, Action: audit.ActionNodeDrained, TargetType: "node", TargetID: id.String(),
			Metadata: map[string]any{"admin_state_from": from, "reason": reason, "deadline": deadline.Format(time.RFC3339), "allocations": held},
		}); err != nil {
			return err
		}
		if _, err := events.Enqueue(ctx, tx, s.naming, events.NodeDraining,
			events.Node{NodeID: id, Hostname: n.Hostname, Reason: reason, At: now.UTC(), Deadline: &deadline}); err != nil {
			return err
		}
		node, err = s.render(ctx, tx, n)
		return err
	})
	if err != nil {
		return api.Node{}, fmt.Errorf("drain node: %w", err)
	}
	return node, nil
}

// UndrainNode returns a draining node to service.
func (s *Service) UndrainNode(ctx context.Context, actor, id uuid.UUID) (api.Node, error) {
	var node api.Node
	err := s.store.InTx(ctx, func(tx *store.Store) error {
		n, err := lockNode(ctx, tx, id)
		if err != nil {
			return err
		}
		if api.NodeAdminState(n.AdminState) != api.NodeAdminStateDraining {
			return apperr.Conflict("invalid_state", "node is %s, not draining", n.AdminState)
		}
		meta := map[string]any{"reason": n.DrainReason}
		if n.DrainDeadline != nil {
			meta["deadline"] = n.DrainDeadline.UTC().Format(time.RFC3339)
		}
		if n, err = tx.UndrainNode(ctx, id); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx.Queries, audit.Entry{
			Actor: actor, Action: audit.ActionNodeUndrained, TargetType: "node", TargetID: id.String(), Metadata: meta,
		}); err != nil {
			return err
		}
		node, err = s.render(ctx, tx, n)
		return err
	})
	if err != nil {
		return api.Node{}, fmt.Errorf("undrain node: %w", err)
	}
	return node, nil
}

// DecommissionNode retires an empty node for good: its agent credentials
// are revoked (revoke, in the same transaction) and it never takes work
// again. A node with allocated GPUs is 409 node_in_use.
func (s *Service) DecommissionNode(ctx context.Context, actor, id uuid.UUID,
	revoke func(ctx context.Context, tx *store.Store, node uuid.UUID) (int64, error)) (api.Node, error) {
	var node api.Node
	err := s.store.InTx(ctx, func(tx *store.Store) error {
		n, err := lockNode(ctx, tx, id)
		if err != nil {
			return err
		}
		if api.NodeAdminState(n.AdminState) == api.NodeAdminStateDecommissioned {
			node, err = s.render(ctx, tx, n)
			return err
		}
		inUse, err := tx.CountNodeGPUsInUse(ctx, id)
		if err != nil {
			return err
		}
		if inUse > 0 {
			return apperr.Conflict("node_in_use", "node has %d allocated GPUs; drain it and let them be released first", inUse)
		}
		revoked, err := revoke(ctx, tx, id)
		if err != nil {
			return err
		}
		from := n.AdminState
		if n, err = tx.DecommissionNode(ctx, id); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx.Queries, audit.Entry{
			Actor: actor, Action: audit.ActionNodeDecommissioned, TargetType: "node", TargetID: id.String(),
			Metadata: map[string]any{"admin_state_from": from, "credentials_revoked": revoked},
		}); err != nil {
			return err
		}
		node, err = s.render(ctx, tx, n)
		return err
	})
	if err != nil {
		return api.Node{}, fmt.Errorf("decommission node: %w", err)
	}
	return node, nil
}

func lockNode(ctx context.Context, tx *store.Store, id uuid.UUID) (db.Node, error) {
	n, err := tx.GetNodeForUpdate(ctx, id)
	if store.IsNoRows(err) {
		return n, apperr.NotFound("node")
	}
	return n, err
}
