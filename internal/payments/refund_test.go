package payments_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/payments/paymentstest"
)

// paid makes a user, pays a top-up of amount for them and returns it.
func (e *env) paid(amount int64) (api.CheckoutSession, string, api.User) {
	e.t.Helper()
	c, u := e.srv.As("user")
	cs, sess := e.checkout(c, amount)
	evs, err := e.stripe.Pay(sess, false)
	must(e.t, err)
	if st := e.deliver(evs[0]); st != 200 {
		e.t.Fatalf("deliver: %d", st)
	}
	return cs, sess, u
}

func (e *env) lastEvent(typ string) paymentstest.Event {
	e.t.Helper()
	evs := e.stripe.Events()
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Type == typ {
			return evs[i]
		}
	}
	e.t.Fatalf("no %s event", typ)
	return paymentstest.Event{}
}

func TestRefunds(t *testing.T) {
	t.Parallel()
	e := start(t, options{})
	admin, _ := e.srv.As("admin")
	cs, sess, u := e.paid(10_000)
	path := "/api/v1/admin/payments/" + cs.Id.String() + "/refunds"

	// Partial refund by an admin: booked at once.
	var d api.PaymentDetail
	if st, code := call(t, admin, "POST", path, api.RefundRequest{AmountMinor: 3000, Reason: "asked"}, "r1", &d); st != 201 {
		t.Fatalf("refund: %d %s", st, code)
	}
	if d.Payment.Status != api.PaymentStatusPartiallyRefunded || d.Payment.RefundedMinor != 3000 || len(d.Refunds) != 1 || e.balance(u.Id) != 7000 {
		t.Fatalf("after refund: %+v, balance %d", d, e.balance(u.Id))
	}
	// The same request again is the same refund.
	var again api.PaymentDetail
	call(t, admin, "POST", path, api.RefundRequest{AmountMinor: 3000, Reason: "asked"}, "r1", &again)
	if e.balance(u.Id) != 7000 || len(e.payment(cs.Id).Refunds) != 1 {
		t.Fatalf("retry refunded twice: balance %d", e.balance(u.Id))
	}
	// Its charge.refunded webhook changes nothing, however often.
	ours := e.lastEvent("charge.refunded")
	for range 2 {
		if st := e.deliver(ours); st != 200 {
			t.Fatalf("deliver: %d", st)
		}
	}
	if e.balance(u.Id) != 7000 {
		t.Fatalf("our refund's webhook booked again: %d", e.balance(u.Id))
	}
	// A refund made in Stripe's dashboard arrives by webhook, booked once.
	dash, err := e.stripe.DashboardRefund(sess, 2000)
	must(t, err)
	for range 3 {
		e.deliver(dash)
	}
	e.deliver(ours) // an older cumulative amount, late: nothing
	if got := e.payment(cs.Id); got.Payment.RefundedMinor != 5000 || e.balance(u.Id) != 5000 || len(got.Refunds) != 2 {
		t.Fatalf("after dashboard refund: %+v, balance %d", got.Payment, e.balance(u.Id))
	}
	// More than is left: 409, nothing booked.
	if st, code := call(t, admin, "POST", path, api.RefundRequest{AmountMinor: 5001, Reason: "too much"}, "r2", nil); st != 409 || code != "refund_exceeds_payment" {
		t.Fatalf("over-refund: %d %s", st, code)
	}
	// A balance may go below zero through a refund.
	if st, code := call(t, admin, "POST", "/api/v1/admin/users/"+u.Id.String()+"/balance",
		api.AdjustBalanceRequest{AmountMinor: -4000, Reason: "spent"}, "adj", nil); st != 200 {
		t.Fatalf("adjust: %d %s", st, code)
	}
	call(t, admin, "POST", path, api.RefundRequest{AmountMinor: 5000, Reason: "rest"}, "r3", &d)
	if d.Payment.Status != api.PaymentStatusRefunded || e.balance(u.Id) != -4000 {
		t.Fatalf("full refund: %s, balance %d", d.Payment.Status, e.balance(u.Id))
	}
	if st, code := call(t, admin, "POST", path, api.RefundRequest{AmountMinor: 1, Reason: "again"}, "r4", nil); st != 409 || code != "invalid_state" {
		t.Fatalf("refund of a refunded payment: %d %s", st, code)
	}
	// The admin list carries Stripe's ids; the user's does not.
	var list api.PaymentList
	call(t, admin, "GET", "/api/v1/admin/payments?status=refunded&user_id="+u.Id.String(), nil, "", &list)
	if len(list.Items) != 1 || list.Items[0].StripeCheckoutSessionId == nil || *list.Items[0].StripeCheckoutSessionId != sess ||
		list.Items[0].StripeCustomerId == nil {
		t.Fatalf("admin list: %+v", list)
	}
	user, _ := e.srv.Login(u)
	if st, _ := call(t, user, "POST", path, api.RefundRequest{AmountMinor: 1, Reason: "x"}, "r5", nil); st != 403 {
		t.Fatalf("user refund: %d", st)
	}
	e.checkLedger()
}

// TestRefundBeforeCompletion: a dashboard refund's event overtakes the
// completion it belongs to; it waits, and the completion books it.
func TestRefundBeforeCompletion(t *testing.T) {
	t.Parallel()
	e := start(t, options{})
	c, u := e.srv.As("user")
	cs, sess := e.checkout(c, 4000)
	evs, err := e.stripe.Pay(sess, false)
	must(t, err)
	refund, err := e.stripe.DashboardRefund(sess, 1500)
	must(t, err)
	e.deliver(refund)
	if e.balance(u.Id) != 0 {
		t.Fatalf("refund before credit booked: %d", e.balance(u.Id))
	}
	e.deliver(evs[0])
	e.deliver(refund)
	if got := e.payment(cs.Id).Payment; got.RefundedMinor != 1500 || got.Status != api.PaymentStatusPartiallyRefunded || e.balance(u.Id) != 2500 {
		t.Fatalf("payment %+v, balance %d", got, e.balance(u.Id))
	}
	e.checkLedger()
}

func TestDisputes(t *testing.T) {
	t.Parallel()
	e := start(t, options{})
	cs, sess, u := e.paid(8000)
	e.deliver(e.stripe.Dispute(sess, "dp_1", 8000, false, ""))
	if got := e.payment(cs.Id).Payment; got.Status != api.PaymentStatusDisputed || got.DisputedMinor != 8000 || e.balance(u.Id) != 0 {
		t.Fatalf("disputed: %+v, balance %d", got, e.balance(u.Id))
	}
	won := e.stripe.Dispute(sess, "dp_1", 8000, true, "won")
	e.deliver(won)
	e.deliver(won)
	if got := e.payment(cs.Id).Payment; got.Status != api.PaymentStatusSucceeded || got.DisputedMinor != 0 || e.balance(u.Id) != 8000 {
		t.Fatalf("won: %+v, balance %d", got, e.balance(u.Id))
	}
	// Lost, with the closed event overtaking the created one.
	cs2, sess2, u2 := e.paid(3000)
	lost := e.stripe.Dispute(sess2, "dp_2", 3000, true, "lost")
	created := e.stripe.Dispute(sess2, "dp_2", 3000, false, "")
	e.deliver(lost)
	e.deliver(created)
	if got := e.payment(cs2.Id).Payment; got.Status != api.PaymentStatusDisputed || e.balance(u2.Id) != 0 {
		t.Fatalf("lost: %+v, balance %d", got, e.balance(u2.Id))
	}
	e.checkLedger()
}

func TestAmountMismatch(t *testing.T) {
	t.Parallel()
	e := start(t, options{})
	admin, _ := e.srv.As("admin")
	c, u := e.srv.As("user")
	cs, sess := e.checkout(c, 5000)
	e.stripe.Tamper(sess, 50)
	evs, err := e.stripe.Pay(sess, false)
	must(t, err)
	before := e.metric("gpuaas_payments_mismatches_total")
	e.deliver(evs[0])
	e.deliver(evs[0])
	got := e.payment(cs.Id).Payment
	if got.Status != api.PaymentStatusFailedReconcile || got.Mismatch == nil || e.balance(u.Id) != 0 {
		t.Fatalf("mismatch: %+v, balance %d", got, e.balance(u.Id))
	}
	if after := e.metric("gpuaas_payments_mismatches_total"); after != before+1 {
		t.Fatalf("mismatches metric %v → %v", before, after)
	}
	var n int
	must(t, e.srv.App.Store.Pool().QueryRow(ctx, "SELECT count(*) FROM audit_logs WHERE action = 'payment.mismatch' AND target_id = $1",
		cs.Id.String()).Scan(&n))
	if n != 1 {
		t.Fatalf("%d mismatch audit rows", n)
	}
	// Reconciliation reports it and credits nothing.
	var rep api.ReconcileReport
	call(t, admin, "POST", "/api/v1/admin/payments/reconcile", nil, "", &rep)
	if len(rep.Mismatches) != 1 || rep.Mismatches[0].PaymentId != cs.Id || rep.Credited != 0 || e.balance(u.Id) != 0 {
		t.Fatalf("reconcile: %+v, balance %d", rep, e.balance(u.Id))
	}
	e.checkLedger()
}

func TestReconcileRepairsLostWebhooks(t *testing.T) {
	t.Parallel()
	e := start(t, options{})
	admin, _ := e.srv.As("admin")
	c, u := e.srv.As("user")
	_, paidSess := e.checkout(c, 1200)
	_, asyncSess := e.checkout(c, 800)
	_, failSess := e.checkout(c, 900)
	stale, _ := e.checkout(c, 600)
	_, gone := e.checkout(c, 700)
	// The stale one's time has passed (for us; Stripe still shows it open).
	if _, err := e.srv.App.Store.Pool().Exec(ctx, "UPDATE payments SET expires_at = $2 WHERE id = $1",
		stale.Id, time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	// Webhooks lost: none is delivered.
	_, err := e.stripe.Pay(paidSess, false)
	must(t, err)
	_, err = e.stripe.Pay(asyncSess, true)
	must(t, err)
	_, err = e.stripe.Settle(asyncSess, true)
	must(t, err)
	_, err = e.stripe.Pay(failSess, true)
	must(t, err)
	_, err = e.stripe.Expire(gone)
	must(t, err)

	var rep api.ReconcileReport
	if st, code := call(t, admin, "POST", "/api/v1/admin/payments/reconcile", nil, "", &rep); st != 200 {
		t.Fatalf("reconcile: %d %s", st, code)
	}
	if rep.SessionsSeen != 5 || rep.Credited != 2 || rep.Expired != 2 || len(rep.Mismatches) != 0 {
		t.Fatalf("report %+v", rep)
	}
	if e.balance(u.Id) != 2000 {
		t.Fatalf("balance %d, want 2000", e.balance(u.Id))
	}
	if got := e.payment(stale.Id).Payment.Status; got != api.PaymentStatusExpired {
		t.Fatalf("stale pending: %s", got)
	}
	if st := e.stripe.Session(e.sessionOf(stale))["status"]; st != "expired" {
		t.Fatalf("stale session at Stripe: %v", st)
	}
	// Again, and the late webhooks: nothing more.
	call(t, admin, "POST", "/api/v1/admin/payments/reconcile", nil, "", &rep)
	for _, ev := range e.stripe.Events() {
		e.deliver(ev)
	}
	if rep.Credited != 0 || e.balance(u.Id) != 2000 {
		t.Fatalf("second run %+v, balance %d", rep, e.balance(u.Id))
	}
	e.checkLedger()
}

// TestRefundRacesDashboardRefund: an admin refund and a refund made in
// Stripe's dashboard at the same moment, with every charge.refunded event
// delivered concurrently and again later, book exactly what Stripe holds.
func TestRefundRacesDashboardRefund(t *testing.T) {
	t.Parallel()
	e := start(t, options{})
	admin, _ := e.srv.As("admin")
	cs, sess, u := e.paid(10_000)
	path := "/api/v1/admin/payments/" + cs.Id.String() + "/refunds"
	done := make(chan struct{})
	go func() {
		defer close(done)
		if st, code := call(t, admin, "POST", path, api.RefundRequest{AmountMinor: 3000, Reason: "race"}, "race", nil); st != 201 {
			t.Errorf("admin refund: %d %s", st, code)
		}
	}()
	dash, err := e.stripe.DashboardRefund(sess, 2000)
	must(t, err)
	e.deliver(dash)
	<-done
	for _, ev := range e.stripe.Events() {
		if ev.Type == "charge.refunded" {
			e.deliver(ev)
		}
	}
	if got := e.payment(cs.Id).Payment; got.RefundedMinor != 5000 || e.balance(u.Id) != 5000 {
		t.Fatalf("refunded %d, balance %d; want 5000 and 5000", got.RefundedMinor, e.balance(u.Id))
	}
	e.checkLedger()
}

// TestRefundBooksStripesTotal: a dashboard refund whose webhook has not
// come yet is in the total Stripe answers our refund with; both are
// booked then, and the late webhooks book nothing more.
func TestRefundBooksStripesTotal(t *testing.T) {
	t.Parallel()
	e := start(t, options{})
	admin, _ := e.srv.As("admin")
	cs, sess, u := e.paid(10_000)
	dash, err := e.stripe.DashboardRefund(sess, 2000)
	must(t, err)
	var d api.PaymentDetail
	if st, code := call(t, admin, "POST", "/api/v1/admin/payments/"+cs.Id.String()+"/refunds",
		api.RefundRequest{AmountMinor: 3000, Reason: "asked"}, "k", &d); st != 201 {
		t.Fatalf("refund: %d %s", st, code)
	}
	if d.Payment.RefundedMinor != 5000 || len(d.Refunds) != 2 || e.balance(u.Id) != 5000 {
		t.Fatalf("after refund: %+v, balance %d", d, e.balance(u.Id))
	}
	e.deliver(dash)
	e.deliver(e.lastEvent("charge.refunded"))
	if got := e.payment(cs.Id); got.Payment.RefundedMinor != 5000 || len(got.Refunds) != 2 || e.balance(u.Id) != 5000 {
		t.Fatalf("after webhooks: %+v, balance %d", got, e.balance(u.Id))
	}
	e.checkLedger()
}

// TestConcurrentReconcilesAndWebhooksCreditOnce: reconciliation runs on
// several replicas at once while the late webhooks arrive too.
func TestConcurrentReconcilesAndWebhooksCreditOnce(t *testing.T) {
	t.Parallel()
	e := start(t, options{})
	c, u := e.srv.As("user")
	var evs []paymentstest.Event
	for range 20 {
		_, sess := e.checkout(c, 700)
		ev, err := e.stripe.Pay(sess, false)
		must(t, err)
		evs = append(evs, ev...)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := e.srv.App.Payments.Reconcile(ctx); err != nil {
				t.Errorf("reconcile: %v", err)
			}
		})
	}
	for _, ev := range evs {
		wg.Go(func() {
			if st, err := paymentstest.Deliver(http.DefaultClient, e.hook, ev.Body, time.Time{}, secretA); err != nil || st != 200 {
				t.Errorf("deliver %s: %d %v", ev.ID, st, err)
			}
		})
	}
	wg.Wait()
	if b := e.balance(u.Id); b != 20*700 {
		t.Fatalf("balance %d, want %d", b, 20*700)
	}
	e.checkLedger()
}
