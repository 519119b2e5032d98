package server

import (
	"errors"
	"io"
	"net/http"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/httpapi"
	"github.com/gpuaas/gpuaas/internal/idempotency"
	"github.com/gpuaas/gpuaas/internal/payments"
	"github.com/gpuaas/gpuaas/internal/store"
)

func (a *App) paymentsConfig(w http.ResponseWriter, r *http.Request) error {
	httpapi.WriteJSON(w, http.StatusOK, a.Payments.Settings())
	return nil
}

func (a *App) createCheckoutSession(w http.ResponseWriter, r *http.Request) error {
	if err := a.Payments.CheckEnabled(); err != nil {
		return err
	}
	var req api.CheckoutSessionRequest
	raw, err := httpapi.DecodeRaw(r, &req)
	if err != nil {
		return err
	}
	key := r.Header.Get(idempotency.Header)
	if key == "" {
		return apperr.Invalid("the %s header is required", idempotency.Header)
	}
	// A top-up for a team credits the team's account; the caller must be
	// in it (404 otherwise) and pays with their own Stripe customer.
	account := principal(r).UserID
	if req.Team != nil {
		if account, err = a.Teams.Account(r.Context(), principal(r).UserID, *req.Team); err != nil {
			return err
		}
	}
	return a.idempotent(w, r, "POST /api/v1/payments/checkout-sessions", raw, http.StatusCreated, func(tx *store.Store) (any, error) {
		return a.Payments.Checkout(r.Context(), tx, principal(r).UserID, account, req, key)
	})
}

func (a *App) listPayments(w http.ResponseWriter, r *http.Request) error {
	if err := a.Payments.CheckEnabled(); err != nil {
		return err
	}
	var after uuid.UUID
	page, err := httpapi.ParsePageAfter(r, &after)
	if err != nil {
		return err
	}
	items, next, err := a.Payments.List(r.Context(), principal(r).UserID, after, page.Size)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, api.PaymentList{Items: items, NextCursor: cursorOf(next)})
	return nil
}

func (a *App) getPayment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "payment_id")
	if err != nil {
		return err
	}
	p, err := a.Payments.Get(r.Context(), principal(r).UserID, id)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, p)
	return nil
}

func (a *App) createPortalSession(w http.ResponseWriter, r *http.Request) error {
	ps, err := a.Payments.Portal(r.Context(), principal(r).UserID)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, ps)
	return nil
}

// stripeWebhook is public: the signature is the authentication, checked
// by the domain before anything reads the body.
func (a *App) stripeWebhook(w http.ResponseWriter, r *http.Request) error {
	if err := a.Payments.CheckEnabled(); err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, payments.MaxWebhookBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return apperr.TooLarge(tooBig.Limit)
		}
		return apperr.Invalid("read request body: %v", err)
	}
	res, err := a.Payments.HandleWebhook(r.Context(), body, r.Header.Get("Stripe-Signature"))
	if err != nil {
		return err
	}
	ack := api.WebhookAck{Received: true}
	if res.Duplicate {
		ack.Duplicate = &res.Duplicate
	}
	httpapi.WriteJSON(w, http.StatusOK, ack)
	return nil
}

func (a *App) adminListPayments(w http.ResponseWriter, r *http.Request) error {
	var f payments.Filter
	q := r.URL.Query()
	if s := q.Get("user_id"); s != "" {
		id, err := uuid.Parse(s)
		if err != nil {
			return apperr.Invalid("user_id must be a UUID")
		}
		f.UserID = id
	}
	f.Status = q.Get("status")
	var err error
	if f.Since, f.Until, err = timeRange(q); err != nil {
		return err
	}
	var after uuid.UUID
	page, err := httpapi.ParsePageAfter(r, &after)
	if err != nil {
		return err
	}
	items, next, err := a.Payments.AdminList(r.Context(), f, after, page.Size)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, api.PaymentList{Items: items, NextCursor: cursorOf(next)})
	return nil
}

func (a *App) adminGetPayment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "payment_id")
	if err != nil {
		return err
	}
	d, err := a.Payments.AdminGet(r.Context(), id)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, d)
	return nil
}

func (a *App) adminRefundPayment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "payment_id")
	if err != nil {
		return err
	}
	if err := a.Payments.CheckEnabled(); err != nil {
		return err
	}
	var req api.RefundRequest
	raw, err := httpapi.DecodeRaw(r, &req)
	if err != nil {
		return err
	}
	key := r.Header.Get(idempotency.Header)
	if key == "" {
		return apperr.Invalid("the %s header is required", idempotency.Header)
	}
	route := "POST /api/v1/admin/payments/" + id.String() + "/refunds"
	return a.idempotent(w, r, route, raw, http.StatusCreated, func(tx *store.Store) (any, error) {
		return a.Payments.Refund(r.Context(), tx, principal(r).UserID, id, req, key)
	})
}

func (a *App) adminReconcilePayments(w http.ResponseWriter, r *http.Request) error {
	rep, err := a.Payments.Reconcile(r.Context())
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, rep)
	return nil
}
