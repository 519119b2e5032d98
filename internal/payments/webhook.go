package payments

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/stripe/stripe-go/v86"

	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// MaxWebhookBytes bounds a webhook body; Stripe's events are a few KiB.
const MaxWebhookBytes = 256 << 10

// Event types handled; any other is acknowledged and ignored.
const (
	evCompleted      = "checkout.session.completed"
	evAsyncSucceeded = "checkout.session.async_payment_succeeded"
	evAsyncFailed    = "checkout.session.async_payment_failed"
	evExpired        = "checkout.session.expired"
	evRefunded       = "charge.refunded"
	evDisputeCreated = "charge.dispute.created"
	evDisputeClosed  = "charge.dispute.closed"
)

// event is the part of a Stripe event we read. api_version is not checked:
// an account may be pinned to another version than stripe-go's, and the
// fields read here are the same in all of them.
type event struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Type    string `json:"type"`
	Created int64  `json:"created"`
	Data    struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

// WebhookResult says what a delivery did.
type WebhookResult struct {
	Duplicate bool
}

// HandleWebhook verifies a delivery's Stripe-Signature before anything
// reads the body, stores the event by id and applies it. A bad signature is
// 400 invalid_signature and counted; a redelivered event changes nothing.
func (s *Service) HandleWebhook(ctx context.Context, body []byte, signature string) (WebhookResult, error) {
	if err := s.CheckEnabled(); err != nil {
		return WebhookResult{}, err
	}
	if why := verify(signature, body, s.cfg.WebhookSecrets, s.now()); why != "" {
		s.rejected.WithLabelValues(why).Inc()
		return WebhookResult{}, apperr.InvalidCode(CodeInvalidSignature, "the Stripe-Signature header is %s", map[string]string{
			rejectMissing: "missing", rejectMalformed: "malformed", rejectStale: "too old", rejectSignature: "not valid for this endpoint",
		}[why])
	}
	var ev event
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" || ev.Object != "event" || ev.Type == "" {
		return WebhookResult{}, apperr.Invalid("the body is not a Stripe event")
	}
	var res WebhookResult
	result := "applied"
	err := s.st.InTx(ctx, func(tx *store.Store) error {
		intent := eventIntent(ev)
		var pi *string
		if intent != "" {
			pi = &intent
		}
		_, err := tx.InsertPaymentEvent(ctx, db.InsertPaymentEventParams{
			ID: ev.ID, Type: ev.Type, PaymentIntent: pi, Payload: body, Created: time.Unix(ev.Created, 0).UTC(),
		})
		if store.IsNoRows(err) {
			res.Duplicate, result = true, "duplicate"
			return nil
		}
		if err != nil {
			return fmt.Errorf("store event: %w", err)
		}
		result, err = s.apply(ctx, tx, ev, "webhook")
		return err
	})
	if err != nil {
		return WebhookResult{}, fmt.Errorf("handle stripe event %s (%s): %w", ev.ID, ev.Type, err)
	}
	s.received.WithLabelValues(ev.Type, result).Inc()
	return res, nil
}

// eventIntent is the PaymentIntent a charge or dispute event is about.
func eventIntent(ev event) string {
	switch ev.Type {
	case evRefunded, evDisputeCreated, evDisputeClosed:
		var o struct {
			PaymentIntent json.RawMessage `json:"payment_intent"`
		}
		if json.Unmarshal(ev.Data.Object, &o) == nil {
			return expandableID(o.PaymentIntent)
		}
	}
	return ""
}

// expandableID is the id of a field Stripe writes as an id or, expanded,
// as an object with an id.
func expandableID(raw json.RawMessage) string {
	var id string
	if json.Unmarshal(raw, &id) == nil {
		return id
	}
	var o struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &o) == nil {
		return o.ID
	}
	return ""
}

// apply applies a stored event in tx and marks it applied (or leaves it
// waiting for its session). It returns the result label.
func (s *Service) apply(ctx context.Context, tx *store.Store, ev event, source string) (string, error) {
	mark := func(p *db.Payment) error {
		arg := db.MarkPaymentEventAppliedParams{ID: ev.ID}
		if p != nil {
			arg.PaymentID.UUID, arg.PaymentID.Valid = p.ID, true
		}
		return tx.MarkPaymentEventApplied(ctx, arg)
	}
	switch ev.Type {
	case evCompleted, evAsyncSucceeded, evAsyncFailed, evExpired:
		var cs stripe.CheckoutSession
		if err := json.Unmarshal(ev.Data.Object, &cs); err != nil || cs.ID == "" {
			return "", apperr.Invalid("the event's data.object is not a Checkout Session")
		}
		snap := snapshotOf(&cs)
		switch ev.Type {
		case evAsyncSucceeded:
			snap.outcome = outcomePaid
		case evAsyncFailed:
			snap.outcome = outcomeFailed
		case evExpired:
			snap.outcome = outcomeExpired
		}
		p, _, err := s.applySession(ctx, tx, snap, source, ev.ID)
		if err != nil {
			return "", err
		}
		if p == nil {
			return "ignored", mark(nil)
		}
		return "applied", mark(p)
	case evRefunded:
		var ch stripe.Charge
		if err := json.Unmarshal(ev.Data.Object, &ch); err != nil {
			return "", apperr.Invalid("the event's data.object is not a Charge")
		}
		p, err := s.lockByIntent(ctx, tx, eventIntent(ev))
		if err != nil || p == nil {
			return "waiting", err
		}
		if err := s.applyRefunded(ctx, tx, p, ch.AmountRefunded, ev.ID); err != nil {
			return "", err
		}
		return "applied", mark(p)
	case evDisputeCreated, evDisputeClosed:
		var d stripe.Dispute
		if err := json.Unmarshal(ev.Data.Object, &d); err != nil || d.ID == "" {
			return "", apperr.Invalid("the event's data.object is not a Dispute")
		}
		p, err := s.lockByIntent(ctx, tx, eventIntent(ev))
		if err != nil || p == nil {
			return "waiting", err
		}
		if err := s.applyDispute(ctx, tx, p, d.ID, d.Amount, string(d.Status), ev.Type == evDisputeClosed, ev.ID); err != nil {
			return "", err
		}
		return "applied", mark(p)
	}
	return "ignored", mark(nil)
}

// lockByIntent locks the payment whose PaymentIntent is intent, or returns
// nil when none has it yet (the event then waits in payment_events for its
// session's completion). The advisory lock on the intent orders this
// against the completion that records it, so an event is either seen by
// that completion or finds the payment.
func (s *Service) lockByIntent(ctx context.Context, tx *store.Store, intent string) (*db.Payment, error) {
	if intent == "" {
		return nil, nil
	}
	if err := lockIntent(ctx, tx, intent); err != nil {
		return nil, err
	}
	p, err := tx.LockPaymentByIntent(ctx, &intent)
	if store.IsNoRows(err) {
		slog.InfoContext(ctx, "stripe event for a payment intent not (yet) ours; kept", "payment_intent", intent)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lock payment by intent: %w", err)
	}
	return &p, nil
}

func lockIntent(ctx context.Context, tx *store.Store, intent string) error {
	if err := tx.LockPaymentIntent(ctx, intent); err != nil {
		return fmt.Errorf("lock payment intent: %w", err)
	}
	return nil
}
