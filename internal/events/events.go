package events

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Event types. Each is published on <namespace>.events.<type>.
const (
	AllocationRequested     = "allocation.requested"
	AllocationProvisioning  = "allocation.provisioning"
	AllocationActive        = "allocation.active"
	AllocationReleasing     = "allocation.releasing"
	AllocationReleased      = "allocation.released"
	AllocationFailed        = "allocation.failed"
	AllocationReleaseFailed = "allocation.release_failed"

	BillingLowBalance         = "billing.low_balance"
	BillingAutoReleasePending = "billing.auto_release_pending"
	BillingBalanceDepleted    = "billing.balance_depleted"
	BillingBalanceCredited    = "billing.balance_credited"

	// Payment events are written by the payments code (Stripe top-ups
	// and refunds) through notify.EnqueuePayment; their owner is told.
	PaymentSucceeded = "payment.succeeded"
	PaymentFailed    = "payment.failed"
	PaymentRefunded  = "payment.refunded"

	NodeOffline = "node.offline"
	// NodeDraining: an admin drains a node; its allocations' owners learn
	// when they will be released (Node.Deadline).
	NodeDraining = "node.draining"

	GPUUnhealthy = "gpu.unhealthy"

	// SSHKeysChanged: a user added or deleted an SSH key; their running
	// allocations get the new set.
	SSHKeysChanged = "ssh_keys.changed"
)

// Types lists every event type; the contract test holds it against
// api/asyncapi.yaml.
var Types = []string{
	AllocationRequested, AllocationProvisioning, AllocationActive, AllocationReleasing,
	AllocationReleased, AllocationFailed, AllocationReleaseFailed,
	BillingLowBalance, BillingAutoReleasePending, BillingBalanceDepleted, BillingBalanceCredited,
	PaymentSucceeded, PaymentFailed, PaymentRefunded,
	NodeOffline, NodeDraining, GPUUnhealthy, SSHKeysChanged,
}

// Allocation is the payload of every allocation.* event: ids and status,
// never secrets.
type Allocation struct {
	AllocationID uuid.UUID  `json:"allocation_id"`
	UserID       uuid.UUID  `json:"user_id"`
	SKUID        string     `json:"sku_id"`
	NodeID       *uuid.UUID `json:"node_id,omitempty"`
	Status       string     `json:"status"`
	From         string     `json:"from"`
	Reason       string     `json:"reason,omitempty"`
	// At is when the transition happened (the allocation's
	// status_changed_at): usage windows start and end exactly here.
	At time.Time `json:"at"`
	// UsageSettled is true when the transition's transaction opened or
	// closed the usage window itself: billing skips the event.
	UsageSettled bool `json:"usage_settled,omitempty"`
}

// Balance is the payload of every billing.* event.
type Balance struct {
	UserID        uuid.UUID `json:"user_id"`
	BalanceMinor  int64     `json:"balance_minor"`
	Currency      string    `json:"currency"`
	RunwaySeconds *int64    `json:"runway_seconds,omitempty"`
	At            time.Time `json:"at"`
}

// Payment is the payload of payment.* events: a top-up that succeeded or
// failed, or a refund issued against one. Amounts in integer minor units.
type Payment struct {
	UserID    uuid.UUID `json:"user_id"`
	PaymentID uuid.UUID `json:"payment_id"`
	// AmountMinor is the payment's amount, or for payment.refunded the
	// amount refunded.
	AmountMinor int64  `json:"amount_minor"`
	Currency    string `json:"currency"`
	// BalanceMinor is the balance after the credit or refund, when known.
	BalanceMinor *int64 `json:"balance_minor,omitempty"`
	// Reason is why a payment failed or a refund was made, as the user may
	// read it; empty when there is none.
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

// Node is the payload of node.* events.
type Node struct {
	NodeID   uuid.UUID `json:"node_id"`
	Hostname string    `json:"hostname"`
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"`
	// Deadline is a drain's: when what still runs is released.
	Deadline *time.Time `json:"deadline,omitempty"`
}

// GPU is the payload of gpu.* events: a device that turned unhealthy
// under an allocation, and whose allocation it was.
type GPU struct {
	NodeID       uuid.UUID `json:"node_id"`
	GPUUUID      string    `json:"gpu_uuid"`
	Index        int       `json:"index"`
	Reason       string    `json:"reason"`
	AllocationID uuid.UUID `json:"allocation_id"`
	UserID       uuid.UUID `json:"user_id"`
	At           time.Time `json:"at"`
}

// SSHKeys is the payload of ssh_keys.* events: whose keys changed. The
// keys themselves are read from the database by whoever acts on it.
type SSHKeys struct {
	UserID uuid.UUID `json:"user_id"`
	At     time.Time `json:"at"`
}

// Envelope is what goes on the wire: the payload plus its identity.
type Envelope struct {
	ID         uuid.UUID       `json:"id"`
	Type       string          `json:"type"`
	OccurredAt time.Time       `json:"occurred_at"`
	Data       json.RawMessage `json:"data"`
}

// Naming scopes streams and subjects, so several deployments (or tests)
// share one NATS without seeing each other's events.
type Naming struct {
	Namespace string // e.g. "gpuaas"
}

// DefaultNaming is what a deployment uses unless told otherwise.
var DefaultNaming = Naming{Namespace: "gpuaas"}

// Stream is the JetStream stream holding every event.
func (n Naming) Stream() string {
	return strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(n.Namespace)) + "_EVENTS"
}

// Subject is where events of type typ are published.
func (n Naming) Subject(typ string) string { return n.Namespace + ".events." + typ }

// AllSubjects matches every event subject.
func (n Naming) AllSubjects() string { return n.Namespace + ".events.>" }

// Enqueue writes an event into the outbox through tx, which must be the
// transaction making the change the event announces, and notes it so that
// the process's relay is kicked at commit. It returns the event id.
func Enqueue(ctx context.Context, tx *store.Store, n Naming, typ string, data any) (uuid.UUID, error) {
	row, err := Row(n, typ, data)
	if err != nil {
		return uuid.Nil, err
	}
	// Nothing reads the result: inside a transaction the row goes with its
	// next statement or its COMMIT.
	if err := tx.Later().InsertOutbox(ctx, row); err != nil {
		return uuid.Nil, fmt.Errorf("enqueue %s event: %w", typ, err)
	}
	tx.EventsWritten()
	return row.ID, nil
}

// Row renders an event as the outbox row Enqueue writes, for a caller
// that writes it together with its audit row (audit.RecordWithEvent).
func Row(n Naming, typ string, data any) (db.InsertOutboxParams, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return db.InsertOutboxParams{}, fmt.Errorf("encode %s event: %w", typ, err)
	}
	id := uuid.Must(uuid.NewV7())
	env, err := json.Marshal(Envelope{ID: id, Type: typ, OccurredAt: time.Now().UTC(), Data: raw})
	if err != nil {
		return db.InsertOutboxParams{}, fmt.Errorf("encode %s envelope: %w", typ, err)
	}
	return db.InsertOutboxParams{ID: id, Type: typ, Subject: n.Subject(typ), Payload: env}, nil
}
