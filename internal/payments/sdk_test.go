package payments_test

import (
	"testing"
	"time"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/sdk"
)

// TestSDKPayments goes through the payment routes with the Go client.
func TestSDKPayments(t *testing.T) {
	t.Parallel()
	e := start(t, options{})
	admin, _ := e.srv.As("admin")
	c, u := e.srv.As("user")
	cfg, err := c.PaymentsConfig(ctx)
	must(t, err)
	if !cfg.Enabled {
		t.Fatal("payments off")
	}
	cs, err := c.CreateCheckoutSession(ctx, api.CheckoutSessionRequest{AmountMinor: 1500, Currency: "usd"}, "sdk-1")
	must(t, err)
	evs, err := e.stripe.Pay(e.sessionOf(cs), false)
	must(t, err)
	e.deliver(evs[0])
	p, err := c.GetPayment(ctx, cs.Id)
	must(t, err)
	list, err := c.ListPayments(ctx, api.ListPaymentsParams{PageSize: sdk.Ptr(1)})
	must(t, err)
	if p.Status != api.PaymentStatusSucceeded || len(list.Items) != 1 {
		t.Fatalf("payment %+v, list %+v", p, list)
	}
	if _, err := c.PortalSession(ctx); err != nil {
		t.Fatal(err)
	}
	d, err := admin.AdminRefundPayment(ctx, cs.Id, api.RefundRequest{AmountMinor: 500, Reason: "sdk"}, "sdk-r")
	must(t, err)
	st := api.PaymentStatusPartiallyRefunded
	all, err := admin.AdminListPayments(ctx, api.AdminListPaymentsParams{UserId: &u.Id, Status: &st})
	must(t, err)
	got, err := admin.AdminGetPayment(ctx, cs.Id)
	must(t, err)
	rep, err := admin.AdminReconcilePayments(ctx)
	must(t, err)
	if d.Payment.RefundedMinor != 500 || len(all.Items) != 1 || len(got.Refunds) != 1 || rep.SessionsSeen != 1 || e.balance(u.Id) != 1000 {
		t.Fatalf("refund %+v, list %d, detail %+v, report %+v, balance %d", d.Payment, len(all.Items), got, rep, e.balance(u.Id))
	}
	if _, err := c.AdminReconcilePayments(ctx); err == nil {
		t.Fatal("a user reconciled")
	}
}

func TestPaymentListsPageAndFilter(t *testing.T) {
	t.Parallel()
	e := start(t, options{})
	admin, _ := e.srv.As("admin")
	c, u := e.srv.As("user")
	other, _ := e.srv.As("user")
	for range 3 {
		e.checkout(c, 1000)
	}
	e.checkout(other, 2000)
	first, err := c.ListPayments(ctx, api.ListPaymentsParams{PageSize: sdk.Ptr(2)})
	must(t, err)
	if len(first.Items) != 2 || first.NextCursor == "" {
		t.Fatalf("first page %+v", first)
	}
	second, err := c.ListPayments(ctx, api.ListPaymentsParams{PageSize: sdk.Ptr(2), Cursor: &first.NextCursor})
	must(t, err)
	if len(second.Items) != 1 || second.NextCursor != "" || second.Items[0].Id == first.Items[1].Id ||
		!second.Items[0].CreatedAt.Before(first.Items[1].CreatedAt.Add(time.Millisecond)) {
		t.Fatalf("second page %+v", second)
	}
	mine, err := admin.AdminListPayments(ctx, api.AdminListPaymentsParams{UserId: &u.Id})
	must(t, err)
	all, err := admin.AdminListPayments(ctx, api.AdminListPaymentsParams{})
	must(t, err)
	future := time.Now().Add(time.Hour)
	none, err := admin.AdminListPayments(ctx, api.AdminListPaymentsParams{Since: &future})
	must(t, err)
	past := time.Now().Add(-time.Hour)
	recent, err := admin.AdminListPayments(ctx, api.AdminListPaymentsParams{Since: &past, Until: &future})
	must(t, err)
	if len(mine.Items) != 3 || len(all.Items) != 4 || len(none.Items) != 0 || len(recent.Items) != 4 {
		t.Fatalf("admin lists: user %d, all %d, future %d, recent %d", len(mine.Items), len(all.Items), len(none.Items), len(recent.Items))
	}
}
