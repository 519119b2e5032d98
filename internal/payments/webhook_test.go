package payments_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/payments"
	"github.com/gpuaas/gpuaas/internal/payments/paymentstest"
	"github.com/gpuaas/gpuaas/sdk"
)

// TestWebhooksExactlyOnceShuffled pays hundreds of sessions in every way
// Stripe can end one (paid at once, delayed and then paid or failed,
// expired, abandoned), delivers each event 1 to 5 times in a shuffled
// order from many goroutines at once, and checks that each paid session
// credited its user exactly once and each payment ends in the right state.
func TestWebhooksExactlyOnceShuffled(t *testing.T) {
	t.Parallel()
	seed := uint64(20261207) // fixed, so a failure replays; the variable picks another
	if s := os.Getenv("GPUAAS_PAYMENTS_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (GPUAAS_PAYMENTS_SEED=%d replays it)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 16))

	e := start(t, options{})
	const users, sessions = 8, 240
	clients := make([]*sdk.Client, users)
	ids := make([]uuid.UUID, users)
	for i := range users {
		c, u := e.srv.As("user")
		clients[i], ids[i] = c, u.Id
	}
	type plan struct {
		user    int
		payment uuid.UUID
		session string
		amount  int64
		kind    int // 0 paid, 1 delayed then paid, 2 delayed then failed, 3 expired, 4 left open
	}
	plans := make([]plan, sessions)
	for i := range plans {
		plans[i] = plan{user: rng.IntN(users), amount: 500 + int64(rng.IntN(20_000)), kind: []int{0, 0, 0, 1, 2, 3, 4}[rng.IntN(7)]}
	}
	// Checkouts, eight at a time.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range plans {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			cs, sess := e.checkout(clients[plans[i].user], plans[i].amount)
			plans[i].payment, plans[i].session = cs.Id, sess
		}()
	}
	wg.Wait()
	var evs []paymentstest.Event
	want := make([]int64, users)
	for _, p := range plans {
		switch p.kind {
		case 0:
			ev, err := e.stripe.Pay(p.session, false)
			must(t, err)
			evs = append(evs, ev...)
			want[p.user] += p.amount
		case 1, 2:
			ev, err := e.stripe.Pay(p.session, true)
			must(t, err)
			settled, err := e.stripe.Settle(p.session, p.kind == 1)
			must(t, err)
			evs = append(evs, append(ev, settled)...)
			if p.kind == 1 {
				want[p.user] += p.amount
			}
		case 3:
			ev, err := e.stripe.Expire(p.session)
			must(t, err)
			evs = append(evs, ev)
		}
	}
	var deliveries []paymentstest.Event
	for _, ev := range evs {
		for range 1 + rng.IntN(5) {
			deliveries = append(deliveries, ev)
		}
	}
	rng.Shuffle(len(deliveries), func(i, j int) { deliveries[i], deliveries[j] = deliveries[j], deliveries[i] })
	t.Logf("%d sessions, %d events, %d deliveries", sessions, len(evs), len(deliveries))

	work := make(chan paymentstest.Event)
	client := &http.Client{Timeout: 30 * time.Second}
	var failed sync.Map
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ev := range work {
				st, err := paymentstest.Deliver(client, e.hook, ev.Body, time.Time{}, secretA)
				if err != nil || st != 200 {
					failed.Store(ev.ID, fmt.Sprintf("%d %v", st, err))
				}
			}
		}()
	}
	for _, d := range deliveries {
		work <- d
	}
	close(work)
	wg.Wait()
	failed.Range(func(k, v any) bool { t.Errorf("delivery of %s: %s", k, v); return true })

	for i, id := range ids {
		if got := e.balance(id); got != want[i] {
			t.Errorf("user %d: balance %d, want %d", i, got, want[i])
		}
	}
	wantStatus := map[int]api.PaymentStatus{0: api.PaymentStatusSucceeded, 1: api.PaymentStatusSucceeded,
		2: api.PaymentStatusFailed, 3: api.PaymentStatusExpired, 4: api.PaymentStatusPending}
	for _, p := range plans {
		if got := e.payment(p.payment).Payment.Status; got != wantStatus[p.kind] {
			t.Errorf("payment %s (kind %d): %s, want %s", p.payment, p.kind, got, wantStatus[p.kind])
		}
	}
	var stored int
	must(t, e.srv.App.Store.Pool().QueryRow(ctx, "SELECT count(*) FROM payment_events").Scan(&stored))
	if stored != len(evs) {
		t.Errorf("%d events stored, want %d", stored, len(evs))
	}
	e.checkLedger()
}

func TestWebhookSignatureRefused(t *testing.T) {
	t.Parallel()
	e := start(t, options{})
	_, u := e.srv.As("user")
	c, _ := e.srv.Login(u)
	_, sess := e.checkout(c, 1000)
	evs, err := e.stripe.Pay(sess, false)
	must(t, err)
	body := evs[0].Body
	now := time.Now()
	tampered := []byte(strings.Replace(string(body), `"amount_total":1000`, `"amount_total":100000`, 1))
	if string(tampered) == string(body) {
		t.Fatal("could not tamper the body")
	}
	good := payments.SignatureHeader(body, now, secretA)
	for _, tc := range []struct {
		name, reason string
		body         []byte
		header       string
	}{
		{"tampered body", "signature", tampered, good},
		{"wrong secret", "signature", body, payments.SignatureHeader(body, now, "whsec_wrong")},
		{"stale", "stale", body, payments.SignatureHeader(body, now.Add(-301*time.Second), secretA)},
		{"missing header", "missing", body, ""},
		{"no v1", "malformed", body, "t=" + strconv.FormatInt(now.Unix(), 10)},
		{"space after comma", "malformed", body, strings.Replace(good, ",v1=", ", v1=", 1)},
	} {
		before := e.metric(`gpuaas_payments_webhook_rejected_total{reason="` + tc.reason + `"}`)
		st, err := paymentstest.DeliverWithHeader(e.srv.HTTPClient(), e.hook, tc.body, tc.header)
		must(t, err)
		if st != 400 {
			t.Errorf("%s: %d, want 400", tc.name, st)
		}
		if after := e.metric(`gpuaas_payments_webhook_rejected_total{reason="` + tc.reason + `"}`); after != before+1 {
			t.Errorf("%s: rejected{reason=%s} went %v → %v", tc.name, tc.reason, before, after)
		}
	}
	// A body over the cap is refused before anything reads it.
	big := []byte(`{"id":"evt_big","object":"event","type":"x","pad":"` + strings.Repeat("a", payments.MaxWebhookBytes) + `"}`)
	if st, err := paymentstest.Deliver(e.srv.HTTPClient(), e.hook, big, now, secretA); err != nil || st != 413 {
		t.Errorf("oversized body: %d %v", st, err)
	}
	if b := e.balance(u.Id); b != 0 {
		t.Fatalf("balance %d after refused deliveries", b)
	}
	// A future timestamp passes (Stripe checks age only), and so does a
	// bad v1 followed by a good one.
	st, err := paymentstest.DeliverWithHeader(e.srv.HTTPClient(), e.hook, body,
		"t="+strconv.FormatInt(now.Unix(), 10)+",v1="+strings.Repeat("0", 64)+","+strings.TrimPrefix(good, "t="+strconv.FormatInt(now.Unix(), 10)+","))
	must(t, err)
	if st != 200 || e.balance(u.Id) != 1000 {
		t.Fatalf("bad then good v1: %d, balance %d", st, e.balance(u.Id))
	}
}

func TestWebhookSecretRotationAndAPIVersion(t *testing.T) {
	t.Parallel()
	e := start(t, options{secrets: []string{secretA, secretB}})
	c, u := e.srv.As("user")
	var total int64
	for i, secrets := range [][]string{{secretA}, {secretB}, {secretA, secretB}, {"whsec_other", secretB}} {
		_, sess := e.checkout(c, 1000)
		evs, err := e.stripe.Pay(sess, false)
		must(t, err)
		if st := e.deliver(evs[0], secrets...); st != 200 {
			t.Fatalf("secrets %d: %d", i, st)
		}
		total += 1000
	}
	// An account pinned to another API version: still accepted.
	_, sess := e.checkout(c, 700)
	evs, err := e.stripe.Pay(sess, false)
	must(t, err)
	old := []byte(strings.Replace(string(evs[0].Body), `"api_version":"`, `"api_version":"2024-06-20","x_was":"`, 1))
	if st := e.deliver(paymentstest.Event{ID: evs[0].ID, Type: evs[0].Type, Body: old}); st != 200 {
		t.Fatalf("older api_version: %d", st)
	}
	total += 700
	// Unknown types are acknowledged.
	unknown := []byte(`{"id":"evt_unknown_1","object":"event","api_version":"2026-07-29.dahlia","created":1,"type":"customer.created","data":{"object":{"id":"cus_1","object":"customer"}}}`)
	if st := e.deliver(paymentstest.Event{ID: "evt_unknown_1", Type: "customer.created", Body: unknown}); st != 200 {
		t.Fatalf("unknown type: %d", st)
	}
	if b := e.balance(u.Id); b != total {
		t.Fatalf("balance %d, want %d", b, total)
	}
	e.checkLedger()
}
