package payments

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/stripe/stripe-go/v86"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/ledger"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// MaxReasonLength is the longest refund reason, in characters.
const MaxReasonLength = 500

// Refund refunds amountMinor of payment id through Stripe and books the
// reversing posting in the same transaction tx (the idempotent request's),
// with the payment's row locked throughout: the charge.refunded webhook
// for it waits, then finds the amount booked and books nothing. key is the
// admin's Idempotency-Key (required). The balance may go below zero.
func (s *Service) Refund(ctx context.Context, tx *store.Store, actor, id uuid.UUID, req api.RefundRequest, key string) (api.PaymentDetail, error) {
	if err := s.CheckEnabled(); err != nil {
		return api.PaymentDetail{}, err
	}
	reason := strings.TrimSpace(req.Reason)
	switch {
	case key == "":
		return api.PaymentDetail{}, apperr.Invalid("the Idempotency-Key header is required")
	case req.AmountMinor <= 0:
		return api.PaymentDetail{}, apperr.Invalid("amount_minor must be positive")
	case reason == "":
		return api.PaymentDetail{}, apperr.Invalid("reason is required")
	case !utf8.ValidString(reason) || utf8.RuneCountInString(reason) > MaxReasonLength:
		return api.PaymentDetail{}, apperr.Invalid("reason must be valid text of at most %d characters", MaxReasonLength)
	}
	p, err := tx.LockPayment(ctx, id)
	if store.IsNoRows(err) {
		return api.PaymentDetail{}, apperr.NotFound("payment")
	}
	if err != nil {
		return api.PaymentDetail{}, fmt.Errorf("lock payment: %w", err)
	}
	if (p.Status != StatusSucceeded && p.Status != StatusPartiallyRefunded) || p.StripePaymentIntentID == nil {
		return api.PaymentDetail{}, apperr.Conflict("invalid_state", "only a succeeded or partially refunded payment can be refunded; this one is %s", p.Status)
	}
	left := p.AmountMinor - p.RefundedMinor
	if req.AmountMinor > left {
		return api.PaymentDetail{}, exceeds(left, p.Currency)
	}
	params := &stripe.RefundCreateParams{
		PaymentIntent: p.StripePaymentIntentID,
		Amount:        stripe.Int64(req.AmountMinor),
		Reason:        stripe.String("requested_by_customer"),
		Metadata:      map[string]string{"payment_id": p.ID.String(), "actor_user_id": actor.String()},
	}
	// The charge comes back with its cumulative amount_refunded, so this
	// refund is booked as charge.refunded would book it: up to that total.
	params.AddExpand("charge")
	params.SetIdempotencyKey(stripeKey("refund", p.ID.String(), actor.String(), key))
	re, err := s.sc.V1Refunds.Create(ctx, params)
	if err != nil {
		var se *stripe.Error
		if errors.As(err, &se) && (se.Code == stripe.ErrorCodeChargeAlreadyRefunded || se.Code == stripe.ErrorCodeAmountTooLarge) {
			// Stripe knows of refunds we have not booked yet (made in its
			// dashboard, webhook still under way).
			return api.PaymentDetail{}, exceeds(left, p.Currency)
		}
		return api.PaymentDetail{}, stripeErr("create a refund", err)
	}
	cumulative := p.RefundedMinor + req.AmountMinor
	if re.Charge != nil && re.Charge.AmountRefunded > 0 {
		cumulative = re.Charge.AmountRefunded
	}
	// booked may differ from the amount asked: less when an earlier attempt
	// of this request (rolled back here, replayed by Stripe) was already
	// booked from its webhook; more when a dashboard refund not yet heard
	// of is in the total. Both keep the ledger equal to Stripe's total.
	booked := min(cumulative, p.AmountMinor) - p.RefundedMinor
	if booked < 0 {
		booked = 0
	}
	if booked > 0 {
		if _, err := ledger.Post(ctx, tx, ledger.Posting{
			Key: "payment:" + p.ID.String() + ":refunded-upto:" + strconv.FormatInt(p.RefundedMinor+booked, 10), Kind: ledger.KindPayment,
			UserID: credited(p), Actor: actor, Memo: "refund of top-up " + p.ID.String() + ": " + reason, Currency: p.Currency, Amount: -booked,
		}); err != nil {
			return api.PaymentDetail{}, err
		}
	}
	ours := min(req.AmountMinor, booked)
	rows := []db.InsertPaymentRefundParams{{
		ID: uuid.Must(uuid.NewV7()), PaymentID: p.ID, StripeRefundID: &re.ID, AmountMinor: ours,
		Reason: reason, Source: "admin", ActorUserID: uuid.NullUUID{UUID: actor, Valid: true},
	}}
	if booked > ours {
		rows = append(rows, db.InsertPaymentRefundParams{ID: uuid.Must(uuid.NewV7()), PaymentID: p.ID,
			AmountMinor: booked - ours, Reason: "refunded in Stripe", Source: "stripe"})
	}
	for _, r := range rows {
		if r.AmountMinor == 0 {
			continue
		}
		if err := tx.InsertPaymentRefund(ctx, r); err != nil {
			return api.PaymentDetail{}, fmt.Errorf("insert refund: %w", err)
		}
	}
	if booked > 0 {
		if err := s.tell(ctx, tx, events.PaymentRefunded, p, booked, reason); err != nil {
			return api.PaymentDetail{}, err
		}
	}
	up := updateOf(p)
	up.RefundedMinor = p.RefundedMinor + booked
	up.Status = settled(withRefunded(p, up.RefundedMinor))
	if err := audit.Record(ctx, tx.Queries, audit.Entry{
		Actor: actor, Action: audit.ActionPaymentRefund, TargetType: "payment", TargetID: p.ID.String(),
		Metadata: map[string]any{"amount_minor": req.AmountMinor, "currency": p.Currency, "reason": reason,
			"refunded_minor": up.RefundedMinor, "source": "admin", "stripe_refund_id": re.ID},
	}); err != nil {
		return api.PaymentDetail{}, err
	}
	if _, err := s.save(ctx, tx, p, up, "admin", ""); err != nil {
		return api.PaymentDetail{}, err
	}
	return detail(ctx, tx.Queries, p.ID)
}

func exceeds(left int64, currency string) error {
	e := apperr.Conflict(CodeRefundExceeds, "at most %d can still be refunded", left)
	e.Details = map[string]any{"refundable_minor": left, "currency": currency}
	return e
}
