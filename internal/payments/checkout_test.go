package payments_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
)

func TestCheckoutPayCreditsOnce(t *testing.T) {
	t.Parallel()
	e := start(t, options{})
	c, u := e.srv.As("user")

	var cfg api.PaymentsConfig
	call(t, c, "GET", "/api/v1/payments/config", nil, "", &cfg)
	if !cfg.Enabled || cfg.Currency != "USD" || cfg.MinMinor != 500 || cfg.MaxMinor != 100_000 {
		t.Fatalf("config = %+v", cfg)
	}
	cs, sess := e.checkout(c, 2500)
	if cs.Status != api.PaymentStatusPending || cs.AmountMinor != 2500 || cs.Currency != "USD" || cs.Url == "" {
		t.Fatalf("checkout = %+v", cs)
	}
	evs, err := e.stripe.Pay(sess, false)
	must(t, err)
	for range 3 {
		if st := e.deliver(evs[0]); st != 200 {
			t.Fatalf("deliver: %d", st)
		}
	}
	if b := e.balance(u.Id); b != 2500 {
		t.Fatalf("balance = %d, want 2500", b)
	}
	var p api.Payment
	call(t, c, "GET", "/api/v1/payments/"+cs.Id.String(), nil, "", &p)
	if p.Status != api.PaymentStatusSucceeded || p.CreditedAt == nil || p.StripeCheckoutSessionId != nil {
		t.Fatalf("payment = %+v", p)
	}
	var list api.PaymentList
	call(t, c, "GET", "/api/v1/payments", nil, "", &list)
	if len(list.Items) != 1 || list.Items[0].Id != cs.Id {
		t.Fatalf("list = %+v", list)
	}
	// Another user does not see it.
	other, _ := e.srv.As("user")
	if st, code := call(t, other, "GET", "/api/v1/payments/"+cs.Id.String(), nil, "", nil); st != 404 || code != "not_found" {
		t.Fatalf("other user: %d %s", st, code)
	}
	var ps api.PortalSession
	if st, code := call(t, c, "POST", "/api/v1/payments/portal-session", nil, "", &ps); st != 200 || ps.Url == "" {
		t.Fatalf("portal: %d %s %+v", st, code, ps)
	}
	e.checkLedger()
}

func TestCheckoutValidation(t *testing.T) {
	t.Parallel()
	e := start(t, options{})
	c, _ := e.srv.As("user")
	path := "/api/v1/payments/checkout-sessions"
	for _, tc := range []struct {
		name   string
		req    api.CheckoutSessionRequest
		key    string
		status int
		code   string
	}{
		{"too small", api.CheckoutSessionRequest{AmountMinor: 499, Currency: "USD"}, "k1", 400, "amount_out_of_range"},
		{"too large", api.CheckoutSessionRequest{AmountMinor: 100_001, Currency: "USD"}, "k2", 400, "amount_out_of_range"},
		{"no key", api.CheckoutSessionRequest{AmountMinor: 1000, Currency: "USD"}, "", 400, "invalid_request"},
		{"currency", api.CheckoutSessionRequest{AmountMinor: 1000, Currency: "EUR"}, "k3", 400, "invalid_request"},
		{"team", api.CheckoutSessionRequest{AmountMinor: 1000, Currency: "USD", Team: ptr("not-my-team")}, "k4", 404, "not_found"},
	} {
		if st, code := call(t, c, "POST", path, tc.req, tc.key, nil); st != tc.status || code != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.name, st, code, tc.status, tc.code)
		}
	}
	// A retry with the same key is the same checkout: one session.
	var a, b api.CheckoutSession
	req := api.CheckoutSessionRequest{AmountMinor: 1000, Currency: "usd"}
	call(t, c, "POST", path, req, "same", &a)
	call(t, c, "POST", path, req, "same", &b)
	if a.Id != b.Id || a.Url != b.Url {
		t.Fatalf("retry made another checkout: %+v vs %+v", a, b)
	}
	if n := len(e.stripe.SessionIDs()); n != 1 {
		t.Fatalf("%d sessions at Stripe, want 1", n)
	}
}

func TestPaymentsDisabled(t *testing.T) {
	t.Parallel()
	e := start(t, options{noKey: true})
	c, _ := e.srv.As("user")
	var cfg api.PaymentsConfig
	call(t, c, "GET", "/api/v1/payments/config", nil, "", &cfg)
	if cfg.Enabled {
		t.Fatal("payments enabled without a key")
	}
	for _, r := range []struct{ method, path, key string }{
		{"POST", "/api/v1/payments/checkout-sessions", "k"},
		{"GET", "/api/v1/payments", ""},
		{"POST", "/api/v1/payments/portal-session", ""},
	} {
		var body any
		if r.method == "POST" {
			body = api.CheckoutSessionRequest{AmountMinor: 1000, Currency: "USD"}
		}
		if r.path == "/api/v1/payments/portal-session" {
			body = nil
		}
		if st, code := call(t, c, r.method, r.path, body, r.key, nil); st != 503 || code != "payments_disabled" {
			t.Errorf("%s %s: %d %s", r.method, r.path, st, code)
		}
	}
	if st := e.deliver(e.stripe.Dispute("cs_x", "dp_x", 1, false, "")); st != 503 {
		t.Errorf("webhook: %d, want 503", st)
	}
}

func ptr[T any](v T) *T { return &v }

// TestCheckoutForATeam: a member tops up their team; the team's balance
// rises once, the payer's own does not, and a partial refund comes off the
// team's balance.
func TestCheckoutForATeam(t *testing.T) {
	t.Parallel()
	e := start(t, options{})
	c, u := e.srv.As("user")
	team, err := c.CreateTeam(ctx, api.CreateTeamRequest{Slug: "paylab", Name: "Pay Lab"})
	must(t, err)
	var cs api.CheckoutSession
	if st, code := call(t, c, "POST", "/api/v1/payments/checkout-sessions",
		api.CheckoutSessionRequest{AmountMinor: 4000, Currency: "USD", Team: ptr("paylab")}, "team-topup", &cs); st != 201 {
		t.Fatalf("checkout for the team: %d %s", st, code)
	}
	evs, err := e.stripe.Pay(e.sessionOf(cs), false)
	must(t, err)
	for range 2 {
		if st := e.deliver(evs[0]); st != 200 {
			t.Fatalf("deliver: %d", st)
		}
	}
	if b := e.balance(team.Id); b != 4000 {
		t.Fatalf("team balance = %d, want 4000", b)
	}
	if b := e.balance(u.Id); b != 0 {
		t.Fatalf("payer's own balance = %d, want 0", b)
	}
	if p := e.payment(cs.Id).Payment; p.TeamId == nil || *p.TeamId != team.Id {
		t.Fatalf("payment's team = %v, want %s", p.TeamId, team.Id)
	}
	admin, _ := e.srv.As("admin")
	if st, code := call(t, admin, "POST", "/api/v1/admin/payments/"+cs.Id.String()+"/refunds",
		api.RefundRequest{AmountMinor: 1500, Reason: "partial"}, "team-refund", nil); st >= 300 {
		t.Fatalf("refund: %d %s", st, code)
	}
	if b := e.balance(team.Id); b != 2500 {
		t.Fatalf("team balance after refund = %d, want 2500", b)
	}
	// The payer heard of the payment once (two deliveries) and of the refund.
	kinds := func() map[string]int {
		l, err := c.ListNotifications(ctx, api.ListNotificationsParams{})
		must(t, err)
		n := map[string]int{}
		for _, it := range l.Items {
			n[it.Kind]++
		}
		return n
	}
	waitFor(t, "payment notifications", func() bool {
		n := kinds()
		return n["payment.succeeded"] == 1 && n["payment.refunded"] == 1
	})
	// Someone outside the team cannot top it up.
	other, _ := e.srv.As("user")
	if st, code := call(t, other, "POST", "/api/v1/payments/checkout-sessions",
		api.CheckoutSessionRequest{AmountMinor: 1000, Currency: "USD", Team: ptr("paylab")}, "x", nil); st != 404 || code != "not_found" {
		t.Fatalf("outsider: %d %s", st, code)
	}
	e.checkLedger()
}

// TestFirstCheckoutsAtOnceShareOneCustomer: a user's first checkouts, made
// at once, each ask Stripe for the customer with one idempotency key and
// so carry the same customer id; every one succeeds and the user keeps one
// customer. The insert once named only user_id as its conflict, so a racing
// insert could fail on the customer id's own unique index with a 500.
func TestFirstCheckoutsAtOnceShareOneCustomer(t *testing.T) {
	t.Parallel()
	e := start(t, options{})
	const users, each = 6, 12
	for range users {
		c, u := e.srv.As("user")
		statuses := make([]string, each)
		var wg sync.WaitGroup
		for i := range each {
			wg.Go(func() {
				st, code := call(t, c, "POST", "/api/v1/payments/checkout-sessions",
					api.CheckoutSessionRequest{AmountMinor: 1000, Currency: "usd"}, uuid.NewString(), nil)
				statuses[i] = fmt.Sprintf("%d %s", st, code)
			})
		}
		wg.Wait()
		for _, s := range statuses {
			if s != "201 " {
				t.Fatalf("first checkouts at once: %v", statuses)
			}
		}
		var n int
		must(t, e.srv.App.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM stripe_customers WHERE user_id = $1`, u.Id).Scan(&n))
		if n != 1 {
			t.Fatalf("%d customers for one user", n)
		}
	}
}
