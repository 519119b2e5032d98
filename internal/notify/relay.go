package notify

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// ConsumerName is the relay's durable consumer name.
const ConsumerName = "notify"

// EventTypes are the events the relay turns into notifications.
var EventTypes = []string{
	events.AllocationActive, events.AllocationFailed, events.AllocationReleased,
	events.NodeOffline, events.BillingLowBalance, events.BillingBalanceCredited, events.GPUUnhealthy,
}

// Message types on the websocket.
const (
	TypeAllocationStatus = "allocation.status"
	TypeNodeOffline      = "node.offline"
	TypeGPUUnhealthy     = "gpu.unhealthy"
)

// Message is one notification. Only ids, statuses and amounts: no secrets.
type Message struct {
	Type         string     `json:"type"`
	ID           uuid.UUID  `json:"id"` // the event's id
	AllocationID *uuid.UUID `json:"allocation_id,omitempty"`
	NodeID       *uuid.UUID `json:"node_id,omitempty"`
	Status       string     `json:"status,omitempty"`
	// Reason says why: a failure reason such as node_lost, or what a GPU
	// reported.
	Reason       string `json:"reason,omitempty"`
	BalanceMinor *int64 `json:"balance_minor,omitempty"`
	Currency     string `json:"currency,omitempty"`
}

// Subject is the core NATS subject of userID's notifications.
func Subject(n events.Naming, userID uuid.UUID) string {
	return n.Namespace + ".notify.user." + userID.String()
}

// Querier is what the relay reads: who holds a node that went offline.
type Querier interface {
	ListNodeHoldingAllocations(ctx context.Context, nodeID uuid.NullUUID) ([]db.ListNodeHoldingAllocationsRow, error)
}

// Relay turns events into per-user notifications.
type Relay struct {
	nc     *nats.Conn
	q      Querier
	naming events.Naming
}

// NewRelay publishes on nc under n's namespace.
func NewRelay(nc *nats.Conn, q Querier, n events.Naming) *Relay {
	return &Relay{nc: nc, q: q, naming: n}
}

// HandleEvent is the consumer.Handler. Events of other types are ignored.
func (r *Relay) HandleEvent(ctx context.Context, env events.Envelope) error {
	switch env.Type {
	case events.AllocationActive, events.AllocationFailed, events.AllocationReleased:
		var a events.Allocation
		if err := json.Unmarshal(env.Data, &a); err != nil {
			return fmt.Errorf("decode %s: %w", env.Type, err)
		}
		m := Message{Type: TypeAllocationStatus, ID: env.ID, AllocationID: &a.AllocationID, Status: a.Status}
		if env.Type == events.AllocationFailed {
			m.Reason = a.Reason
		}
		return r.publish(a.UserID, m)
	case events.GPUUnhealthy:
		var g events.GPU
		if err := json.Unmarshal(env.Data, &g); err != nil {
			return fmt.Errorf("decode %s: %w", env.Type, err)
		}
		return r.publish(g.UserID, Message{Type: TypeGPUUnhealthy, ID: env.ID, AllocationID: &g.AllocationID, NodeID: &g.NodeID, Reason: g.Reason})
	case events.NodeOffline:
		var n events.Node
		if err := json.Unmarshal(env.Data, &n); err != nil {
			return fmt.Errorf("decode %s: %w", env.Type, err)
		}
		rows, err := r.q.ListNodeHoldingAllocations(ctx, uuid.NullUUID{UUID: n.NodeID, Valid: true})
		if err != nil {
			return fmt.Errorf("allocations on node %s: %w", n.NodeID, err)
		}
		for _, a := range rows {
			if err := r.publish(a.UserID, Message{Type: TypeNodeOffline, ID: env.ID, NodeID: &n.NodeID, AllocationID: &a.ID, Status: a.Status}); err != nil {
				return err
			}
		}
		return nil
	case events.BillingLowBalance, events.BillingBalanceCredited:
		var b events.Balance
		if err := json.Unmarshal(env.Data, &b); err != nil {
			return fmt.Errorf("decode %s: %w", env.Type, err)
		}
		return r.publish(b.UserID, Message{Type: env.Type, ID: env.ID, BalanceMinor: &b.BalanceMinor, Currency: b.Currency})
	}
	return nil
}

func (r *Relay) publish(user uuid.UUID, m Message) error {
	raw, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode notification: %w", err)
	}
	if err := r.nc.Publish(Subject(r.naming, user), raw); err != nil {
		return fmt.Errorf("publish notification: %w", err)
	}
	return nil
}
