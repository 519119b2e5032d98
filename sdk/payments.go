package sdk

import (
	"context"
	"net/http"
	"net/url"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
)

// PaymentsConfig says whether top-ups are on and their limits.
func (c *Client) PaymentsConfig(ctx context.Context) (api.PaymentsConfig, error) {
	var out api.PaymentsConfig
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/payments/config", out: &out, auth: true})
	return out, err
}

// CreateCheckoutSession starts a top-up; send the user to its Url.
// idempotencyKey is required: a retry with it is the same checkout.
func (c *Client) CreateCheckoutSession(ctx context.Context, req api.CheckoutSessionRequest, idempotencyKey string) (api.CheckoutSession, error) {
	var out api.CheckoutSession
	err := c.doJSON(ctx, call{method: http.MethodPost, path: "/api/v1/payments/checkout-sessions", in: req, out: &out,
		auth: true, want: http.StatusCreated, header: http.Header{"Idempotency-Key": {idempotencyKey}}})
	return out, err
}

// ListPayments returns a page of the caller's payments, newest first.
func (c *Client) ListPayments(ctx context.Context, p api.ListPaymentsParams) (api.PaymentList, error) {
	var out api.PaymentList
	q := query{}
	q.page(p.PageSize, p.Cursor)
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/payments", query: q.values(), out: &out, auth: true})
	return out, err
}

// GetPayment returns one of the caller's payments.
func (c *Client) GetPayment(ctx context.Context, id uuid.UUID) (api.Payment, error) {
	var out api.Payment
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/payments/" + url.PathEscape(id.String()), out: &out, auth: true})
	return out, err
}

// PortalSession opens Stripe's customer portal; send the user to its Url.
func (c *Client) PortalSession(ctx context.Context) (api.PortalSession, error) {
	var out api.PortalSession
	err := c.doJSON(ctx, call{method: http.MethodPost, path: "/api/v1/payments/portal-session", out: &out, auth: true})
	return out, err
}

// AdminListPayments returns a page of every payment that p selects.
func (c *Client) AdminListPayments(ctx context.Context, p api.AdminListPaymentsParams) (api.PaymentList, error) {
	var out api.PaymentList
	q := query{}
	q.page(p.PageSize, p.Cursor)
	q.audit(nil, nil, nil, p.Since, p.Until)
	if p.UserId != nil {
		q.set("user_id", p.UserId.String())
	}
	if p.Status != nil {
		q.set("status", string(*p.Status))
	}
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/admin/payments", query: q.values(), out: &out, auth: true})
	return out, err
}

// AdminGetPayment returns a payment with its refunds.
func (c *Client) AdminGetPayment(ctx context.Context, id uuid.UUID) (api.PaymentDetail, error) {
	var out api.PaymentDetail
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/admin/payments/" + url.PathEscape(id.String()), out: &out, auth: true})
	return out, err
}

// AdminRefundPayment refunds part or all of a payment through Stripe.
// idempotencyKey is required: a retry with it is the same refund.
func (c *Client) AdminRefundPayment(ctx context.Context, id uuid.UUID, req api.RefundRequest, idempotencyKey string) (api.PaymentDetail, error) {
	var out api.PaymentDetail
	err := c.doJSON(ctx, call{method: http.MethodPost, path: "/api/v1/admin/payments/" + url.PathEscape(id.String()) + "/refunds",
		in: req, out: &out, auth: true, want: http.StatusCreated, header: http.Header{"Idempotency-Key": {idempotencyKey}}})
	return out, err
}

// AdminReconcilePayments compares recent Checkout Sessions in Stripe with
// our payments now and repairs what webhooks missed.
func (c *Client) AdminReconcilePayments(ctx context.Context) (api.ReconcileReport, error) {
	var out api.ReconcileReport
	err := c.doJSON(ctx, call{method: http.MethodPost, path: "/api/v1/admin/payments/reconcile", out: &out, auth: true})
	return out, err
}
