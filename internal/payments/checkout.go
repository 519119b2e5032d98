package payments

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/stripe/stripe-go/v86"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// stripeKey derives the Idempotency-Key sent to Stripe from ours: the same
// request of ours (a retry, a rolled-back attempt) is the same request to
// Stripe, which then answers what it answered before.
func stripeKey(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return "gpuaas-" + parts[0] + "-" + hex.EncodeToString(h[:16])
}

// Checkout creates a Checkout Session for a top-up of amountMinor and its
// pending payment, in tx (the idempotent request's transaction). user
// pays; account is credited: user's own, or a team they are in (resolved
// by the caller). key is the caller's Idempotency-Key, which is required.
func (s *Service) Checkout(ctx context.Context, tx *store.Store, user, account uuid.UUID, req api.CheckoutSessionRequest, key string) (api.CheckoutSession, error) {
	if err := s.CheckEnabled(); err != nil {
		return api.CheckoutSession{}, err
	}
	if key == "" {
		return api.CheckoutSession{}, apperr.Invalid("the Idempotency-Key header is required")
	}
	if !strings.EqualFold(strings.TrimSpace(req.Currency), s.cfg.Currency) {
		return api.CheckoutSession{}, apperr.Invalid("currency must be %s, the currency of balances here", s.cfg.Currency)
	}
	if req.AmountMinor < s.cfg.MinMinor || req.AmountMinor > s.cfg.MaxMinor {
		e := apperr.InvalidCode(CodeAmountOutOfRange, "amount_minor must be between %d and %d", s.cfg.MinMinor, s.cfg.MaxMinor)
		e.Details = map[string]any{"min_minor": s.cfg.MinMinor, "max_minor": s.cfg.MaxMinor, "currency": s.cfg.Currency}
		return api.CheckoutSession{}, e
	}
	customer, err := s.customer(ctx, tx.Queries, user)
	if err != nil {
		return api.CheckoutSession{}, err
	}
	id := uuid.Must(uuid.NewV7())
	base := strings.TrimRight(s.cfg.PublicURL, "/")
	meta := map[string]string{"payment_id": id.String(), "user_id": user.String()}
	team := uuid.NullUUID{UUID: account, Valid: account != uuid.Nil && account != user}
	if team.Valid {
		meta["team_id"] = account.String()
	}
	params := &stripe.CheckoutSessionCreateParams{
		Mode:              stripe.String("payment"),
		Customer:          stripe.String(customer),
		ClientReferenceID: stripe.String(id.String()),
		Metadata:          meta,
		PaymentIntentData: &stripe.CheckoutSessionCreatePaymentIntentDataParams{Metadata: meta},
		LineItems: []*stripe.CheckoutSessionCreateLineItemParams{{
			Quantity: stripe.Int64(1),
			PriceData: &stripe.CheckoutSessionCreateLineItemPriceDataParams{
				Currency:    stripe.String(strings.ToLower(s.cfg.Currency)),
				UnitAmount:  stripe.Int64(req.AmountMinor),
				ProductData: &stripe.CheckoutSessionCreateLineItemPriceDataProductDataParams{Name: stripe.String("GPU credit")},
			},
		}},
		SuccessURL: stripe.String(base + "/billing/payments/" + id.String() + "?session_id={CHECKOUT_SESSION_ID}"),
		CancelURL:  stripe.String(base + "/billing/payments/" + id.String() + "?cancelled=1"),
		ExpiresAt:  stripe.Int64(s.now().Add(CheckoutTTL).Unix()),
	}
	// No Idempotency-Key of ours: the params name this attempt's payment
	// id and expiry, so a retry after a rollback is another request to
	// Stripe (stripe-go still sends one key across its own network
	// retries). The session of a rolled-back attempt reached nobody and
	// expires unpaid; our key's stored response guards the user's retries.
	sess, err := s.sc.V1CheckoutSessions.Create(ctx, params)
	if err != nil {
		return api.CheckoutSession{}, stripeErr("create a Checkout Session", err)
	}
	p, err := tx.InsertPayment(ctx, db.InsertPaymentParams{
		ID: id, UserID: user, TeamID: team, AmountMinor: req.AmountMinor, Currency: s.cfg.Currency,
		StripeCheckoutSessionID: sess.ID, StripeCustomerID: customer, CheckoutUrl: sess.URL,
		ExpiresAt: time.Unix(sess.ExpiresAt, 0).UTC(),
	})
	if err != nil {
		return api.CheckoutSession{}, fmt.Errorf("insert payment: %w", err)
	}
	if err := audit.Record(ctx, tx.Queries, audit.Entry{
		Actor: user, Action: audit.ActionPaymentCheckout, TargetType: "payment", TargetID: p.ID.String(),
		Metadata: map[string]any{"amount_minor": p.AmountMinor, "currency": p.Currency, "stripe_checkout_session_id": sess.ID},
	}); err != nil {
		return api.CheckoutSession{}, err
	}
	return api.CheckoutSession{Id: p.ID, Url: sess.URL, Status: api.PaymentStatus(p.Status),
		AmountMinor: p.AmountMinor, Currency: p.Currency, ExpiresAt: p.ExpiresAt}, nil
}

// customer is user's Stripe customer, created at first use. Two first uses
// at once send Stripe the same idempotency key and get the same customer.
func (s *Service) customer(ctx context.Context, q *db.Queries, user uuid.UUID) (string, error) {
	id, err := q.GetStripeCustomer(ctx, user)
	if err == nil {
		return id, nil
	}
	if !store.IsNoRows(err) {
		return "", fmt.Errorf("get stripe customer: %w", err)
	}
	u, err := q.GetUser(ctx, user)
	if err != nil {
		return "", fmt.Errorf("get user: %w", err)
	}
	params := &stripe.CustomerCreateParams{
		Email:    stripe.String(u.Email),
		Name:     stripe.String(u.Username),
		Metadata: map[string]string{"user_id": user.String()},
	}
	params.SetIdempotencyKey(stripeKey("customer", user.String()))
	c, err := s.sc.V1Customers.Create(ctx, params)
	if err != nil {
		return "", stripeErr("create a customer", err)
	}
	id, err = q.InsertStripeCustomer(ctx, db.InsertStripeCustomerParams{UserID: user, CustomerID: c.ID})
	if store.IsNoRows(err) {
		id, err = q.GetStripeCustomer(ctx, user) // a first checkout at the same time stored it
	}
	if err != nil {
		return "", fmt.Errorf("store stripe customer: %w", err)
	}
	return id, nil
}

// Portal opens Stripe's customer portal for user.
func (s *Service) Portal(ctx context.Context, user uuid.UUID) (api.PortalSession, error) {
	if err := s.CheckEnabled(); err != nil {
		return api.PortalSession{}, err
	}
	customer, err := s.customer(ctx, s.st.Queries, user)
	if err != nil {
		return api.PortalSession{}, err
	}
	ps, err := s.sc.V1BillingPortalSessions.Create(ctx, &stripe.BillingPortalSessionCreateParams{
		Customer:  stripe.String(customer),
		ReturnURL: stripe.String(strings.TrimRight(s.cfg.PublicURL, "/") + "/billing"),
	})
	if err != nil {
		return api.PortalSession{}, stripeErr("open the customer portal", err)
	}
	return api.PortalSession{Url: ps.URL}, nil
}
