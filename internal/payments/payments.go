package payments

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stripe/stripe-go/v86"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/ledger"
	"github.com/gpuaas/gpuaas/internal/notify"
	"github.com/gpuaas/gpuaas/internal/prom"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Error codes of this package.
const (
	CodeDisabled         = "payments_disabled"
	CodeAmountOutOfRange = "amount_out_of_range"
	CodeRefundExceeds    = "refund_exceeds_payment"
	CodeInvalidSignature = "invalid_signature"
	CodeStripe           = "stripe_error"
)

// CheckoutTTL is how long a Checkout Session stays payable (Stripe allows
// 30 minutes to 24 hours).
const CheckoutTTL = time.Hour

// Config is what the service needs from the server's settings.
type Config struct {
	SecretKey      string
	WebhookSecrets []string
	APIURL         string
	MinMinor       int64
	MaxMinor       int64
	// Currency is the deployment's (the ledger's), upper case.
	Currency string
	// PublicURL is where the console is, for Checkout's return pages.
	PublicURL string
	// HTTPClient, when set, carries the Stripe requests (tests record them).
	HTTPClient *http.Client
}

// Service is the payments domain.
type Service struct {
	st     *store.Store
	cfg    Config
	sc     *stripe.Client // nil when payments are off
	naming events.Naming
	now    func() time.Time

	rejected   *prometheus.CounterVec
	received   *prometheus.CounterVec
	mismatches prometheus.Counter
}

// New builds the service; without cfg.SecretKey every use answers 503
// payments_disabled.
func New(st *store.Store, cfg Config, naming events.Naming, reg prometheus.Registerer) *Service {
	if cfg.Currency == "" {
		cfg.Currency = ledger.DefaultCurrency
	}
	s := &Service{st: st, cfg: cfg, naming: naming, now: time.Now}
	if cfg.SecretKey != "" {
		bc := &stripe.BackendConfig{URL: stripe.String(cfg.APIURL), MaxNetworkRetries: stripe.Int64(2)}
		if cfg.HTTPClient != nil {
			bc.HTTPClient = cfg.HTTPClient
		}
		s.sc = stripe.NewClient(cfg.SecretKey, stripe.WithBackends(stripe.NewBackendsWithConfig(bc)))
	}
	s.rejected = prom.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gpuaas_payments_webhook_rejected_total",
		Help: "Stripe webhook requests refused before reading them: reason missing, malformed, stale or signature.",
	}, []string{"reason"}))
	s.received = prom.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gpuaas_payments_webhook_events_total",
		Help: "Verified Stripe webhook events by type and result (applied, duplicate, waiting, ignored).",
	}, []string{"type", "result"}))
	s.mismatches = prom.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gpuaas_payments_mismatches_total",
		Help: "Payments put in failed_reconcile: Stripe's amount, currency or customer differed from ours. Alert on any increase.",
	}))
	for _, r := range []string{"missing", "malformed", "stale", "signature"} {
		s.rejected.WithLabelValues(r)
	}
	return s
}

// Enabled reports whether a Stripe key is configured.
func (s *Service) Enabled() bool { return s.sc != nil }

// CheckEnabled is 503 payments_disabled when payments are off.
func (s *Service) CheckEnabled() error {
	if s.sc == nil {
		return &apperr.Error{Kind: apperr.KindUnavailable, Code: CodeDisabled,
			Message: "payments are not configured on this server (no --stripe-secret-key-file)"}
	}
	return nil
}

// Settings is what the console needs to offer top-ups.
func (s *Service) Settings() api.PaymentsConfig {
	return api.PaymentsConfig{Enabled: s.Enabled(), Currency: s.cfg.Currency, MinMinor: s.cfg.MinMinor, MaxMinor: s.cfg.MaxMinor}
}

// stripeErr turns a failed Stripe call into 502 stripe_error; the cause is
// logged, never shown.
func stripeErr(what string, err error) error {
	msg := "Stripe did not " + what
	var se *stripe.Error
	if errors.As(err, &se) && se.HTTPStatusCode > 0 {
		msg = fmt.Sprintf("Stripe refused to %s (%d %s)", what, se.HTTPStatusCode, se.Code)
	}
	return apperr.BadGateway(CodeStripe, "%s", msg).Wrap(fmt.Errorf("%s: %w", what, err))
}

// Get is one of user's payments (404 for another user's).
func (s *Service) Get(ctx context.Context, user, id uuid.UUID) (api.Payment, error) {
	if err := s.CheckEnabled(); err != nil {
		return api.Payment{}, err
	}
	p, err := s.st.GetPayment(ctx, id)
	if store.IsNoRows(err) || (err == nil && p.UserID != user) {
		return api.Payment{}, apperr.NotFound("payment")
	}
	if err != nil {
		return api.Payment{}, fmt.Errorf("get payment: %w", err)
	}
	return toAPI(p, false), nil
}

// List is user's payments, newest first.
func (s *Service) List(ctx context.Context, user, after uuid.UUID, limit int) ([]api.Payment, uuid.UUID, error) {
	if err := s.CheckEnabled(); err != nil {
		return nil, uuid.Nil, err
	}
	rows, err := s.st.ListUserPayments(ctx, db.ListUserPaymentsParams{UserID: user, After: after, Lim: int32(limit + 1)})
	if err != nil {
		return nil, uuid.Nil, fmt.Errorf("list payments: %w", err)
	}
	return page(rows, limit, false)
}

// Filter selects payments for admins.
type Filter struct {
	UserID       uuid.UUID
	Status       string
	Since, Until *time.Time
}

// AdminList is every payment that f selects, newest first.
func (s *Service) AdminList(ctx context.Context, f Filter, after uuid.UUID, limit int) ([]api.Payment, uuid.UUID, error) {
	p := db.ListPaymentsParams{After: after, Lim: int32(limit + 1), Since: f.Since, Until: f.Until}
	if f.UserID != uuid.Nil {
		p.UserID = uuid.NullUUID{UUID: f.UserID, Valid: true}
	}
	if f.Status != "" {
		if _, ok := transitions[f.Status]; !ok {
			return nil, uuid.Nil, apperr.Invalid("status must be one of the payment statuses")
		}
		p.Status = &f.Status
	}
	rows, err := s.st.ListPayments(ctx, p)
	if err != nil {
		return nil, uuid.Nil, fmt.Errorf("list payments: %w", err)
	}
	return page(rows, limit, true)
}

// AdminGet is a payment with its refunds.
func (s *Service) AdminGet(ctx context.Context, id uuid.UUID) (api.PaymentDetail, error) {
	return detail(ctx, s.st.Queries, id)
}

func detail(ctx context.Context, q *db.Queries, id uuid.UUID) (api.PaymentDetail, error) {
	p, err := q.GetPayment(ctx, id)
	if store.IsNoRows(err) {
		return api.PaymentDetail{}, apperr.NotFound("payment")
	}
	if err != nil {
		return api.PaymentDetail{}, fmt.Errorf("get payment: %w", err)
	}
	refunds, err := q.ListPaymentRefunds(ctx, id)
	if err != nil {
		return api.PaymentDetail{}, fmt.Errorf("list refunds: %w", err)
	}
	out := api.PaymentDetail{Payment: toAPI(p, true), Refunds: []api.PaymentRefund{}}
	for _, r := range refunds {
		item := api.PaymentRefund{Id: r.ID, AmountMinor: r.AmountMinor, Reason: r.Reason,
			Source: api.PaymentRefundSource(r.Source), StripeRefundId: r.StripeRefundID, CreatedAt: r.CreatedAt}
		if r.ActorUserID.Valid {
			id := r.ActorUserID.UUID
			item.ActorUserId = &id
		}
		out.Refunds = append(out.Refunds, item)
	}
	return out, nil
}

func page(rows []db.Payment, limit int, admin bool) ([]api.Payment, uuid.UUID, error) {
	next := uuid.Nil
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[len(rows)-1].ID
	}
	out := make([]api.Payment, 0, len(rows))
	for _, p := range rows {
		out = append(out, toAPI(p, admin))
	}
	return out, next, nil
}

func toAPI(p db.Payment, admin bool) api.Payment {
	out := api.Payment{
		Id: p.ID, UserId: p.UserID, Status: api.PaymentStatus(p.Status), AmountMinor: p.AmountMinor,
		Currency: p.Currency, RefundedMinor: p.RefundedMinor, DisputedMinor: p.DisputedMinor,
		CreditedAt: p.CreditedAt, ExpiresAt: p.ExpiresAt, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
	if p.TeamID.Valid {
		id := p.TeamID.UUID
		out.TeamId = &id
	}
	if p.Mismatch != "" {
		m := p.Mismatch
		out.Mismatch = &m
	}
	if admin {
		sess, cus := p.StripeCheckoutSessionID, p.StripeCustomerID
		out.StripeCheckoutSessionId, out.StripeCustomerId = &sess, &cus
		out.StripePaymentIntentId = p.StripePaymentIntentID
	}
	return out
}

// upper is a currency code as the ledger writes it.
func upper(c string) string { return strings.ToUpper(strings.TrimSpace(c)) }

// credited is the account a payment's money moves on: the team's when it
// was a top-up for a team, else its payer's.
func credited(p db.Payment) uuid.UUID {
	if p.TeamID.Valid {
		return p.TeamID.UUID
	}
	return p.UserID
}

// tell tells the payer about their payment in tx (notify.EnqueuePayment):
// on /ws/notifications and, unless they opted out, by email. amount is the
// payment's, or for a refund the amount refunded.
func (s *Service) tell(ctx context.Context, tx *store.Store, kind string, p db.Payment, amount int64, reason string) error {
	ev := events.Payment{UserID: p.UserID, PaymentID: p.ID, AmountMinor: amount, Currency: p.Currency,
		Reason: reason, At: s.now().UTC()}
	if bal, err := ledger.Balance(ctx, tx.Queries, credited(p), p.Currency); err == nil {
		ev.BalanceMinor = &bal
	}
	if _, err := notify.EnqueuePayment(ctx, tx, s.naming, kind, ev); err != nil {
		return fmt.Errorf("tell the payer: %w", err)
	}
	return nil
}
