package payments

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/stripe/stripe-go/v86"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// lookBack is how far before the oldest pending payment reconciliation
// lists sessions, and at least how far back from now: a session lives at
// most 24 hours, Stripe keeps listing it for much longer.
const lookBack = 48 * time.Hour

// Reconcile lists recent Checkout Sessions from Stripe and applies each to
// its payment as its webhook would have (crediting once), expires pending
// payments past their time (expiring the session in Stripe first), and
// reports mismatches.
func (s *Service) Reconcile(ctx context.Context) (api.ReconcileReport, error) {
	rep := api.ReconcileReport{Mismatches: []api.ReconcileMismatch{}}
	if err := s.CheckEnabled(); err != nil {
		return rep, err
	}
	oldest, err := s.st.OldestPendingPayment(ctx)
	if err != nil {
		return rep, fmt.Errorf("oldest pending payment: %w", err)
	}
	since := s.now().Add(-lookBack)
	if o := oldest.Add(-time.Hour); o.Before(since) {
		since = o
	}
	params := &stripe.CheckoutSessionListParams{CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: since.Unix()}}
	params.Limit = stripe.Int64(100)
	seen := map[string]bool{}
	for cs, err := range s.sc.V1CheckoutSessions.List(ctx, params).All(ctx) {
		if err != nil {
			return rep, stripeErr("list Checkout Sessions", err)
		}
		rep.SessionsSeen++
		seen[cs.ID] = true
		if err := s.reconcileOne(ctx, cs, &rep); err != nil {
			return rep, err
		}
	}
	// Pending payments Stripe did not list (or listed open) past their time.
	pending, err := s.st.ListPendingPayments(ctx)
	if err != nil {
		return rep, fmt.Errorf("list pending payments: %w", err)
	}
	for _, p := range pending {
		if seen[p.StripeCheckoutSessionID] || s.now().Before(p.ExpiresAt) {
			continue
		}
		cs, err := s.sc.V1CheckoutSessions.Retrieve(ctx, p.StripeCheckoutSessionID, nil)
		if err != nil {
			slog.WarnContext(ctx, "reconcile: retrieve session", "payment_id", p.ID, "err", err)
			continue
		}
		if err := s.reconcileOne(ctx, cs, &rep); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// reconcileOne applies one session; an open one past our expiry is expired
// in Stripe first (after which it cannot be paid), then marked expired.
func (s *Service) reconcileOne(ctx context.Context, cs *stripe.CheckoutSession, rep *api.ReconcileReport) error {
	sn := snapshotOf(cs)
	if sn.open && sn.outcome == outcomeOpen {
		p, err := s.st.GetPaymentBySession(ctx, cs.ID)
		if store.IsNoRows(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("get payment: %w", err)
		}
		if p.Status != StatusPending || s.now().Before(p.ExpiresAt) {
			return nil
		}
		expired, err := s.sc.V1CheckoutSessions.Expire(ctx, cs.ID, &stripe.CheckoutSessionExpireParams{})
		if err != nil {
			slog.WarnContext(ctx, "reconcile: expire session", "payment_id", p.ID, "err", err)
			return nil // paid meanwhile, perhaps: the next run sees it
		}
		sn = snapshotOf(expired)
	}
	var p *db.Payment
	var ch change
	err := s.st.InTx(ctx, func(tx *store.Store) error {
		var err error
		p, ch, err = s.applySession(ctx, tx, sn, "reconcile", "")
		return err
	})
	if err != nil {
		return fmt.Errorf("reconcile session %s: %w", cs.ID, err)
	}
	switch ch {
	case changeCredited:
		rep.Credited++
	case changeExpired:
		rep.Expired++
	case changeFailed:
		rep.Failed++
	}
	if p != nil && p.Status == StatusFailedReconcile {
		rep.Mismatches = append(rep.Mismatches, api.ReconcileMismatch{PaymentId: p.ID, StripeCheckoutSessionId: cs.ID, Reason: p.Mismatch})
	}
	return nil
}

// RunReconciler reconciles every interval until ctx ends.
func (s *Service) RunReconciler(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		rep, err := s.Reconcile(ctx)
		if err != nil {
			slog.WarnContext(ctx, "payments reconciliation", "err", err)
			continue
		}
		if rep.Credited+rep.Expired+rep.Failed+len(rep.Mismatches) > 0 {
			slog.InfoContext(ctx, "payments reconciled", "sessions", rep.SessionsSeen, "credited", rep.Credited,
				"expired", rep.Expired, "failed", rep.Failed, "mismatches", len(rep.Mismatches))
		}
	}
}
