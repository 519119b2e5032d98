package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/mail"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// ConsumerName is the relay's durable consumer name.
const ConsumerName = "notify"

// EventTypes are the events the relay turns into notifications.
var EventTypes = []string{
	events.AllocationActive, events.AllocationFailed, events.AllocationReleased, events.AllocationReleaseFailed,
	events.NodeOffline, events.NodeDraining, events.BillingLowBalance, events.BillingAutoReleasePending,
	events.BillingBalanceDepleted, events.BillingBalanceCredited, events.GPUUnhealthy,
	events.PaymentSucceeded, events.PaymentFailed, events.PaymentRefunded,
}

// Message types on the websocket.
const (
	TypeAllocationStatus = "allocation.status"
	TypeNodeOffline      = "node.offline"
	TypeNodeDraining     = "node.draining"
	TypeGPUUnhealthy     = "gpu.unhealthy"
)

// Message is one notification. Only ids, statuses, amounts and the stored
// notification's words: no secrets.
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
	// AmountMinor and PaymentID are a payment.* message's: the payment
	// (or refund) amount and the payment.
	AmountMinor *int64     `json:"amount_minor,omitempty"`
	PaymentID   *uuid.UUID `json:"payment_id,omitempty"`
	// Deadline is a drain's: when the allocation will be released.
	Deadline *time.Time `json:"deadline,omitempty"`
	Currency string     `json:"currency,omitempty"`
	// NotificationID, Kind, Title and Body are the stored notification
	// (GET /api/v1/notifications) this message was kept as.
	NotificationID *uuid.UUID `json:"notification_id,omitempty"`
	Kind           string     `json:"kind,omitempty"`
	Title          string     `json:"title,omitempty"`
	Body           string     `json:"body,omitempty"`
}

// Subject is the core NATS subject of userID's notifications.
func Subject(n events.Naming, userID uuid.UUID) string {
	return n.Namespace + ".notify.user." + userID.String()
}

// Relay turns events into per-user notifications: it keeps each one in
// the notifications table, then publishes it to the user's websockets.
type Relay struct {
	nc     *nats.Conn
	st     *store.Store
	naming events.Naming
	mail   *MailOptions
}

// MailOptions turn on email for the kinds in MailKinds: each such
// notification also writes a mail_outbox row (package mail) in the
// transaction that stores it, unless its user opted out of the kind.
type MailOptions struct {
	// ConsoleURL is the console's public URL, for the links in a mail.
	ConsoleURL string
}

// WithMail turns on email (nil leaves it off) and returns r.
func (r *Relay) WithMail(o *MailOptions) *Relay {
	r.mail = o
	return r
}

// NewRelay stores through st and publishes on nc under n's namespace.
func NewRelay(nc *nats.Conn, st *store.Store, n events.Naming) *Relay {
	return &Relay{nc: nc, st: st, naming: n}
}

// HandleEvent is the consumer.Handler. Events of other types are ignored.
// A redelivered event stores nothing new; its message is published again
// (delivery to websockets is at most once per connection anyway, and
// clients de-duplicate by id).
func (r *Relay) HandleEvent(ctx context.Context, env events.Envelope) error {
	switch env.Type {
	case events.AllocationActive, events.AllocationFailed, events.AllocationReleased, events.AllocationReleaseFailed:
		var a events.Allocation
		if err := json.Unmarshal(env.Data, &a); err != nil {
			return fmt.Errorf("decode %s: %w", env.Type, err)
		}
		m := Message{Type: TypeAllocationStatus, ID: env.ID, AllocationID: &a.AllocationID, Status: a.Status}
		if env.Type == events.AllocationFailed || env.Type == events.AllocationReleaseFailed {
			m.Reason = a.Reason
		}
		info, to, err := r.allocationFor(ctx, a.AllocationID, a.UserID)
		if err != nil {
			return err
		}
		title, body := allocationText(env.Type, info, a.Reason)
		return r.deliverAll(ctx, to, env.Type, title, body, m)
	case events.GPUUnhealthy:
		var g events.GPU
		if err := json.Unmarshal(env.Data, &g); err != nil {
			return fmt.Errorf("decode %s: %w", env.Type, err)
		}
		info, to, err := r.allocationFor(ctx, g.AllocationID, g.UserID)
		if err != nil {
			return err
		}
		title, body := gpuText(info, g)
		return r.deliverAll(ctx, to, env.Type, title, body,
			Message{Type: TypeGPUUnhealthy, ID: env.ID, AllocationID: &g.AllocationID, NodeID: &g.NodeID, Reason: g.Reason})
	case events.NodeOffline, events.NodeDraining:
		var n events.Node
		if err := json.Unmarshal(env.Data, &n); err != nil {
			return fmt.Errorf("decode %s: %w", env.Type, err)
		}
		rows, err := r.st.ListNodeHoldingAllocations(ctx, uuid.NullUUID{UUID: n.NodeID, Valid: true})
		if err != nil {
			return fmt.Errorf("allocations on node %s: %w", n.NodeID, err)
		}
		for _, a := range rows {
			info, err := r.allocation(ctx, a.ID)
			if err != nil {
				return err
			}
			title, body := nodeOfflineText(info, n)
			m := Message{Type: TypeNodeOffline, ID: env.ID, NodeID: &n.NodeID, AllocationID: &a.ID, Status: a.Status}
			if env.Type == events.NodeDraining {
				title, body = nodeDrainingText(info, n)
				m.Type, m.Reason, m.Deadline = TypeNodeDraining, n.Reason, n.Deadline
			}
			if err := r.deliver(ctx, a.UserID, env.Type, title, body, m); err != nil {
				return err
			}
		}
		return nil
	case events.BillingLowBalance, events.BillingAutoReleasePending, events.BillingBalanceDepleted, events.BillingBalanceCredited:
		var b events.Balance
		if err := json.Unmarshal(env.Data, &b); err != nil {
			return fmt.Errorf("decode %s: %w", env.Type, err)
		}
		title, body := balanceText(env.Type, b)
		return r.deliver(ctx, b.UserID, env.Type, title, body,
			Message{Type: env.Type, ID: env.ID, BalanceMinor: &b.BalanceMinor, Currency: b.Currency})
	case events.PaymentSucceeded, events.PaymentFailed, events.PaymentRefunded:
		var p events.Payment
		if err := json.Unmarshal(env.Data, &p); err != nil {
			return fmt.Errorf("decode %s: %w", env.Type, err)
		}
		title, body := paymentText(env.Type, p)
		return r.deliver(ctx, p.UserID, env.Type, title, body, Message{Type: env.Type, ID: env.ID, AmountMinor: &p.AmountMinor,
			PaymentID: &p.PaymentID, BalanceMinor: p.BalanceMinor, Currency: p.Currency, Reason: p.Reason})
	}
	return nil
}

func (r *Relay) allocation(ctx context.Context, id uuid.UUID) (db.GetNotifyAllocationRow, error) {
	row, err := r.st.GetNotifyAllocation(ctx, id)
	return notifyRow(id, row, err)
}

// allocationFor is allocation with, in the same round trip, the
// recipients of account's events (see deliver).
func (r *Relay) allocationFor(ctx context.Context, id, account uuid.UUID) (db.GetNotifyAllocationRow, []uuid.UUID, error) {
	var row db.GetNotifyAllocationRow
	var to []uuid.UUID
	var rowErr, toErr error
	err := r.st.Together(ctx,
		func(q *db.Queries) error { row, rowErr = q.GetNotifyAllocation(ctx, id); return nil },
		func(q *db.Queries) error { to, toErr = q.AccountRecipients(ctx, account); return nil })
	if err == nil {
		row, err = notifyRow(id, row, rowErr)
	}
	if err == nil && toErr != nil {
		err = fmt.Errorf("recipients of %s: %w", account, toErr)
	}
	return row, to, err
}

// notifyRow is what GetNotifyAllocation's answer row, err says of
// allocation id.
func notifyRow(id uuid.UUID, row db.GetNotifyAllocationRow, err error) (db.GetNotifyAllocationRow, error) {
	if store.IsNoRows(err) {
		// Events only name allocations that exist; a stray one still gets
		// a notification, by id.
		return db.GetNotifyAllocationRow{ID: id}, nil
	}
	if err != nil {
		return row, fmt.Errorf("read allocation %s: %w", id, err)
	}
	return row, nil
}

// deliver stores the notification for whoever hears about account's events
// (the person, or every member of a team) and publishes it to each.
func (r *Relay) deliver(ctx context.Context, account uuid.UUID, kind, title, body string, m Message) error {
	to, err := r.st.AccountRecipients(ctx, account)
	if err != nil {
		return fmt.Errorf("recipients of %s: %w", account, err)
	}
	return r.deliverAll(ctx, to, kind, title, body, m)
}

// deliverAll is deliver to recipients already read.
func (r *Relay) deliverAll(ctx context.Context, to []uuid.UUID, kind, title, body string, m Message) error {
	for _, user := range to {
		if err := r.deliverTo(ctx, user, kind, title, body, m); err != nil {
			return err
		}
	}
	return nil
}

// deliverTo stores the notification (once per event, user and allocation)
// and publishes it.
func (r *Relay) deliverTo(ctx context.Context, user uuid.UUID, kind, title, body string, m Message) error {
	p := db.InsertNotificationParams{
		ID: uuid.Must(uuid.NewV7()), UserID: user, EventID: m.ID, Kind: kind, Title: title, Body: body,
	}
	if m.AllocationID != nil {
		p.AllocationID = uuid.NullUUID{UUID: *m.AllocationID, Valid: true}
	}
	var row db.Notification
	var err error
	if r.mail == nil || !Mailed(kind) {
		// One statement (or, for a redelivery, one read): no transaction
		// to begin and commit around it.
		row, _, err = storeOnce(ctx, r.st, p)
	} else {
		err = r.st.InTx(ctx, func(tx *store.Store) error {
			var fresh bool
			var err error
			if row, fresh, err = storeOnce(ctx, tx, p); err != nil || !fresh {
				return err
			}
			_, err = mail.Enqueue(ctx, tx, row.ID, user, kind, mail.Compose(title, body, r.link(kind, m), r.mail.ConsoleURL+"/settings/notifications"))
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("store notification: %w", err)
	}
	m.NotificationID, m.Kind, m.Title, m.Body = &row.ID, row.Kind, row.Title, row.Body
	return r.publish(user, m)
}

// storeOnce stores a notification once per event, user and allocation, and
// says whether this call stored it (false: a redelivery found it).
func storeOnce(ctx context.Context, tx *store.Store, p db.InsertNotificationParams) (db.Notification, bool, error) {
	row, err := tx.InsertNotification(ctx, p)
	if store.IsNoRows(err) {
		row, err = tx.GetNotificationByEvent(ctx, db.GetNotificationByEventParams{
			EventID: p.EventID, UserID: p.UserID, AllocationID: p.AllocationID,
		})
		return row, false, err
	}
	return row, err == nil, err
}

// link is the console page a notification's email points at.
func (r *Relay) link(kind string, m Message) string {
	base := r.mail.ConsoleURL
	switch {
	case m.AllocationID != nil:
		return base + "/allocations/" + m.AllocationID.String()
	case kind == events.BillingLowBalance, kind == events.BillingAutoReleasePending, kind == events.BillingBalanceDepleted:
		return base + "/billing?add_credit=1"
	}
	return base + "/billing"
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
