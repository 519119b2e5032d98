package payments

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/stripe/stripe-go/v86"

	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/ledger"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// What a session snapshot says happened.
type outcome int

const (
	outcomeOpen    outcome = iota // nothing final yet (open, or completed but unpaid)
	outcomePaid                   // the money is in
	outcomeFailed                 // a delayed payment failed
	outcomeExpired                // the session expired unpaid
)

// snapshot is a Checkout Session as a webhook or a list from Stripe shows
// it; the verified payload is authoritative, nothing is fetched again.
type snapshot struct {
	id, currency, customer, intent string
	amount                         int64
	outcome                        outcome
	open                           bool
}

func snapshotOf(cs *stripe.CheckoutSession) snapshot {
	s := snapshot{id: cs.ID, currency: string(cs.Currency), amount: cs.AmountTotal, open: cs.Status == stripe.CheckoutSessionStatusOpen}
	if cs.Customer != nil {
		s.customer = cs.Customer.ID
	}
	if cs.PaymentIntent != nil {
		s.intent = cs.PaymentIntent.ID
	}
	switch {
	case cs.Status == stripe.CheckoutSessionStatusComplete && (cs.PaymentStatus == stripe.CheckoutSessionPaymentStatusPaid ||
		cs.PaymentStatus == stripe.CheckoutSessionPaymentStatusNoPaymentRequired):
		s.outcome = outcomePaid
	case cs.Status == stripe.CheckoutSessionStatusExpired:
		s.outcome = outcomeExpired
	}
	return s
}

// mismatch says how a paid session differs from our payment, or "".
func (sn snapshot) mismatch(p db.Payment) string {
	var why []string
	if sn.amount != p.AmountMinor {
		why = append(why, fmt.Sprintf("amount %d, want %d", sn.amount, p.AmountMinor))
	}
	if !strings.EqualFold(sn.currency, p.Currency) {
		why = append(why, fmt.Sprintf("currency %q, want %q", sn.currency, strings.ToLower(p.Currency)))
	}
	if sn.customer != p.StripeCustomerID {
		why = append(why, fmt.Sprintf("customer %q, want %q", sn.customer, p.StripeCustomerID))
	}
	return strings.Join(why, "; ")
}

// change is what applySession did, for reconciliation's report.
type change int

const (
	changeNone change = iota
	changeCredited
	changeFailed
	changeExpired
	changeMismatch
)

// applySession brings our payment for snapshot's session up to date in tx:
// credit once when paid (unless something differs: failed_reconcile), mark
// failed or expired. It returns the payment (nil when the session is not
// ours) and what changed.
func (s *Service) applySession(ctx context.Context, tx *store.Store, sn snapshot, source, eventID string) (*db.Payment, change, error) {
	p, err := tx.LockPaymentBySession(ctx, sn.id)
	if store.IsNoRows(err) {
		return nil, changeNone, nil
	}
	if err != nil {
		return nil, changeNone, fmt.Errorf("lock payment: %w", err)
	}
	up := updateOf(p)
	if sn.intent != "" && p.StripePaymentIntentID == nil {
		// Recorded with the advisory lock held, so a charge event for it
		// either waits for this commit or is found below.
		if err := lockIntent(ctx, tx, sn.intent); err != nil {
			return nil, changeNone, err
		}
		up.StripePaymentIntentID = &sn.intent
	}
	ch := changeNone
	switch sn.outcome {
	case outcomePaid:
		if p.CreditedAt != nil || p.Status == StatusFailedReconcile {
			break // credited before, or held for an admin
		}
		if why := sn.mismatch(p); why != "" {
			up.Status, up.Mismatch, ch = StatusFailedReconcile, why, changeMismatch
			s.mismatches.Inc()
			slog.ErrorContext(ctx, "stripe payment does not match ours; nothing credited", "payment_id", p.ID,
				"stripe_checkout_session_id", sn.id, "mismatch", why, "source", source)
			if err := audit.Record(ctx, tx.Queries, audit.Entry{
				Action: audit.ActionPaymentMismatch, TargetType: "payment", TargetID: p.ID.String(),
				Metadata: map[string]any{"reason": why, "stripe_checkout_session_id": sn.id, "source": source, "event_id": eventID},
			}); err != nil {
				return nil, changeNone, err
			}
			break
		}
		posted, err := ledger.Post(ctx, tx, ledger.Posting{
			Key: "payment:" + sn.id + ":credit", Kind: ledger.KindPayment, UserID: credited(p),
			Memo: "Stripe top-up " + p.ID.String(), Currency: p.Currency, Amount: p.AmountMinor,
		})
		if err != nil {
			return nil, changeNone, err
		}
		now := s.now().UTC()
		up.CreditedAt = &now
		up.Status = StatusSucceeded
		if posted {
			ch = changeCredited
			if err := audit.Record(ctx, tx.Queries, audit.Entry{
				Actor: p.UserID, Action: audit.ActionPaymentCredited, TargetType: "payment", TargetID: p.ID.String(),
				Metadata: map[string]any{"amount_minor": p.AmountMinor, "currency": p.Currency,
					"stripe_checkout_session_id": sn.id, "source": source, "event_id": eventID},
			}); err != nil {
				return nil, changeNone, err
			}
			if err := s.tell(ctx, tx, events.PaymentSucceeded, p, p.AmountMinor, ""); err != nil {
				return nil, changeNone, err
			}
			// The payer hears payment.succeeded; for a team every member,
			// the payer among them, also hears that its balance was
			// credited.
			if p.TeamID.Valid {
				bal, err := ledger.Balance(ctx, tx.Queries, credited(p), p.Currency)
				if err != nil {
					return nil, changeNone, err
				}
				if _, err := events.Enqueue(ctx, tx, s.naming, events.BillingBalanceCredited, events.Balance{
					UserID: credited(p), BalanceMinor: bal, Currency: p.Currency, At: now,
				}); err != nil {
					return nil, changeNone, err
				}
			}
		}
	case outcomeFailed:
		if p.Status == StatusPending {
			up.Status, ch = StatusFailed, changeFailed
			if err := s.tell(ctx, tx, events.PaymentFailed, p, p.AmountMinor, "the bank did not complete the payment"); err != nil {
				return nil, changeNone, err
			}
		}
	case outcomeExpired:
		if p.Status == StatusPending {
			up.Status, ch = StatusExpired, changeExpired
		}
	}
	np, err := s.save(ctx, tx, p, up, source, eventID)
	if err != nil {
		return nil, changeNone, err
	}
	if np.CreditedAt != nil && np.StripePaymentIntentID != nil {
		if err := s.applyWaiting(ctx, tx, &np, *np.StripePaymentIntentID); err != nil {
			return nil, changeNone, err
		}
	}
	return &np, ch, nil
}

// applyWaiting applies the charge and dispute events that came before the
// payment was credited.
func (s *Service) applyWaiting(ctx context.Context, tx *store.Store, p *db.Payment, intent string) error {
	waiting, err := tx.ListWaitingPaymentEvents(ctx, &intent)
	if err != nil {
		return fmt.Errorf("list waiting events: %w", err)
	}
	for _, w := range waiting {
		var ev event
		if err := json.Unmarshal(w.Payload, &ev); err != nil {
			return fmt.Errorf("decode stored event %s: %w", w.ID, err)
		}
		switch ev.Type {
		case evRefunded:
			var ch stripe.Charge
			if err := json.Unmarshal(ev.Data.Object, &ch); err != nil {
				return fmt.Errorf("decode stored event %s: %w", w.ID, err)
			}
			if err := s.applyRefunded(ctx, tx, p, ch.AmountRefunded, ev.ID); err != nil {
				return err
			}
		case evDisputeCreated, evDisputeClosed:
			var d stripe.Dispute
			if err := json.Unmarshal(ev.Data.Object, &d); err != nil {
				return fmt.Errorf("decode stored event %s: %w", w.ID, err)
			}
			if err := s.applyDispute(ctx, tx, p, d.ID, d.Amount, string(d.Status), ev.Type == evDisputeClosed, ev.ID); err != nil {
				return err
			}
		}
		if err := tx.MarkPaymentEventApplied(ctx, db.MarkPaymentEventAppliedParams{
			ID: w.ID, PaymentID: uuid.NullUUID{UUID: p.ID, Valid: true},
		}); err != nil {
			return fmt.Errorf("mark event applied: %w", err)
		}
	}
	return nil
}

// applyRefunded books the part of a charge's cumulative amount_refunded
// that is not booked yet: our own refunds were booked when made, so their
// webhook books nothing, and a refund made in Stripe's dashboard is booked
// here once. An older event (a smaller cumulative amount) books nothing.
// p is locked and updated in place.
func (s *Service) applyRefunded(ctx context.Context, tx *store.Store, p *db.Payment, cumulative int64, eventID string) error {
	if p.CreditedAt == nil || cumulative <= p.RefundedMinor {
		return nil
	}
	if cumulative > p.AmountMinor {
		cumulative = p.AmountMinor
	}
	delta := cumulative - p.RefundedMinor
	if _, err := ledger.Post(ctx, tx, ledger.Posting{
		Key: "payment:" + p.ID.String() + ":refunded-upto:" + strconv.FormatInt(cumulative, 10), Kind: ledger.KindPayment,
		UserID: credited(*p), Memo: "Stripe refund of top-up " + p.ID.String(), Currency: p.Currency, Amount: -delta,
	}); err != nil {
		return err
	}
	if err := tx.InsertPaymentRefund(ctx, db.InsertPaymentRefundParams{
		ID: uuid.Must(uuid.NewV7()), PaymentID: p.ID, AmountMinor: delta, Reason: "refunded in Stripe", Source: "stripe",
	}); err != nil {
		return fmt.Errorf("insert refund: %w", err)
	}
	if err := s.tell(ctx, tx, events.PaymentRefunded, *p, delta, "refunded in Stripe"); err != nil {
		return err
	}
	if err := audit.Record(ctx, tx.Queries, audit.Entry{
		Action: audit.ActionPaymentRefund, TargetType: "payment", TargetID: p.ID.String(),
		Metadata: map[string]any{"amount_minor": delta, "currency": p.Currency, "refunded_minor": cumulative, "source": "webhook", "event_id": eventID},
	}); err != nil {
		return err
	}
	up := updateOf(*p)
	up.RefundedMinor = cumulative
	up.Status = settled(withRefunded(*p, cumulative))
	np, err := s.save(ctx, tx, *p, up, "webhook", eventID)
	if err != nil {
		return err
	}
	*p = np
	return nil
}

func withRefunded(p db.Payment, r int64) db.Payment { p.RefundedMinor = r; return p }

// applyDispute freezes a disputed amount (a reversing posting) when the
// dispute opens, and gives it back when it closes won; lost keeps it.
func (s *Service) applyDispute(ctx context.Context, tx *store.Store, p *db.Payment, disputeID string, amount int64, status string, closed bool, eventID string) error {
	if p.CreditedAt == nil {
		return nil
	}
	if amount > p.AmountMinor {
		amount = p.AmountMinor
	}
	key := "payment:" + p.ID.String() + ":dispute:" + disputeID
	up := updateOf(*p)
	up.DisputeID = &disputeID
	// The freeze is booked by whichever event comes first: a closed
	// event that overtook its created one still freezes, then settles.
	if _, err := ledger.Post(ctx, tx, ledger.Posting{
		Key: key + ":freeze", Kind: ledger.KindPayment, UserID: credited(*p),
		Memo: "Stripe dispute " + disputeID + " (frozen)", Currency: p.Currency, Amount: -amount,
	}); err != nil {
		return err
	}
	up.DisputedMinor = amount
	st := status
	if closed {
		if status != "lost" {
			st = disputeWon
			if _, err := ledger.Post(ctx, tx, ledger.Posting{
				Key: key + ":unfreeze", Kind: ledger.KindPayment, UserID: credited(*p),
				Memo: "Stripe dispute " + disputeID + " closed: " + status, Currency: p.Currency, Amount: amount,
			}); err != nil {
				return err
			}
			up.DisputedMinor = 0
		} else {
			st = "lost"
		}
	} else if p.DisputeStatus != nil && (*p.DisputeStatus == disputeWon || *p.DisputeStatus == "lost") && p.DisputeID != nil && *p.DisputeID == disputeID {
		return nil // a created event after its closed one: nothing more
	}
	if st == "" {
		st = "needs_response"
	}
	up.DisputeStatus = &st
	tmp := *p
	tmp.DisputeStatus, tmp.DisputedMinor = &st, up.DisputedMinor
	up.Status = settled(tmp)
	if err := audit.Record(ctx, tx.Queries, audit.Entry{
		Action: audit.ActionPaymentDispute, TargetType: "payment", TargetID: p.ID.String(),
		Metadata: map[string]any{"dispute_id": disputeID, "amount_minor": amount, "dispute_status": st, "event_id": eventID},
	}); err != nil {
		return err
	}
	np, err := s.save(ctx, tx, *p, up, "webhook", eventID)
	if err != nil {
		return err
	}
	*p = np
	return nil
}

func updateOf(p db.Payment) db.UpdatePaymentParams {
	return db.UpdatePaymentParams{
		ID: p.ID, Status: p.Status, StripePaymentIntentID: p.StripePaymentIntentID, CreditedAt: p.CreditedAt,
		RefundedMinor: p.RefundedMinor, DisputedMinor: p.DisputedMinor, DisputeID: p.DisputeID,
		DisputeStatus: p.DisputeStatus, Mismatch: p.Mismatch,
	}
}

// save writes up over p, refusing a status change the table does not
// allow (it keeps the old status and logs), and audits a status change.
func (s *Service) save(ctx context.Context, tx *store.Store, p db.Payment, up db.UpdatePaymentParams, source, eventID string) (db.Payment, error) {
	if !canMove(p.Status, up.Status) {
		slog.WarnContext(ctx, "payment status change not allowed; kept", "payment_id", p.ID, "from", p.Status, "to", up.Status)
		up.Status = p.Status
	}
	if same(up, updateOf(p)) {
		return p, nil // a redelivery or a reconciliation that found nothing new: no write
	}
	np, err := tx.UpdatePayment(ctx, up)
	if err != nil {
		return db.Payment{}, fmt.Errorf("update payment: %w", err)
	}
	if np.Status != p.Status {
		if err := audit.Record(ctx, tx.Queries, audit.Entry{
			Action: audit.ActionPaymentStatus, TargetType: "payment", TargetID: p.ID.String(),
			Metadata: map[string]any{"status_from": p.Status, "status_to": np.Status, "source": source, "event_id": eventID},
		}); err != nil {
			return db.Payment{}, err
		}
	}
	return np, nil
}

// same reports whether two updates write the same values.
func same(a, b db.UpdatePaymentParams) bool {
	eqS := func(x, y *string) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	eqT := func(x, y *time.Time) bool { return (x == nil) == (y == nil) && (x == nil || x.Equal(*y)) }
	return a.ID == b.ID && a.Status == b.Status && eqS(a.StripePaymentIntentID, b.StripePaymentIntentID) &&
		eqT(a.CreditedAt, b.CreditedAt) && a.RefundedMinor == b.RefundedMinor && a.DisputedMinor == b.DisputedMinor &&
		eqS(a.DisputeID, b.DisputeID) && eqS(a.DisputeStatus, b.DisputeStatus) && a.Mismatch == b.Mismatch
}
