package paymentstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stripe/stripe-go/v86"

	"github.com/gpuaas/gpuaas/internal/payments"
)

// Stripe is the stand-in. Serve it with Handler; point --stripe-api-url at
// it.
type Stripe struct {
	// Base is the URL the stand-in is served at (for hosted page URLs).
	Base string
	// WebhookURL and Secrets are where and how the hosted pay page delivers
	// its events (tests deliver through Deliver themselves).
	WebhookURL string
	Secrets    []string
	// Now is the stand-in's clock.
	Now func() time.Time

	mu        sync.Mutex
	seq       int
	customers map[string]map[string]any
	sessions  map[string]map[string]any
	order     []string                  // session ids, oldest first
	charges   map[string]map[string]any // by payment intent
	idem      map[string]stored
	events    []Event
	requests  []string
}

type stored struct {
	params string
	status int
	body   []byte
}

// Event is one event the stand-in produced, as JSON.
type Event struct {
	ID, Type string
	Body     []byte
}

// New is an empty stand-in.
func New() *Stripe {
	return &Stripe{Now: time.Now, customers: map[string]map[string]any{}, sessions: map[string]map[string]any{},
		charges: map[string]map[string]any{}, idem: map[string]stored{}}
}

func (s *Stripe) id(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s_test_%06d", prefix, s.seq)
}

// Requests are "METHOD /path" of every API request so far.
func (s *Stripe) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// Handler serves the API, the hosted pay page (/pay/{session}) and
// test controls (/_test/…).
func (s *Stripe) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/customers", s.api(s.createCustomer))
	mux.HandleFunc("POST /v1/checkout/sessions", s.api(s.createSession))
	mux.HandleFunc("GET /v1/checkout/sessions", s.api(s.listSessions))
	mux.HandleFunc("GET /v1/checkout/sessions/{id}", s.api(s.getSession))
	mux.HandleFunc("POST /v1/checkout/sessions/{id}/expire", s.api(s.expireSession))
	mux.HandleFunc("POST /v1/billing_portal/sessions", s.api(s.createPortal))
	mux.HandleFunc("POST /v1/refunds", s.api(s.createRefund))
	mux.HandleFunc("GET /pay/{id}", s.payPage)
	mux.HandleFunc("POST /pay/{id}", s.payAndReturn)
	mux.HandleFunc("GET /portal/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<!doctype html><title>Customer portal</title><h1>Receipts</h1>")
	})
	mux.HandleFunc("POST /_test/refund", s.testRefund)
	return mux
}

type apiErr struct {
	status           int
	typ, code, param string
	msg              string
}

type handler func(r *http.Request, form url.Values) (any, *apiErr)

// api checks the key, parses the form and replays Idempotency-Keys.
func (s *Stripe) api(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Request-Id", "req_standin")
		auth := r.Header.Get("Authorization")
		if !strings.HasPrefix(auth, "Bearer sk_test_") && !strings.HasPrefix(auth, "Bearer rk_test_") {
			writeErr(w, &apiErr{status: 401, typ: "invalid_request_error", msg: "Invalid API Key provided"})
			return
		}
		raw, _ := io.ReadAll(r.Body)
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			writeErr(w, &apiErr{status: 400, typ: "invalid_request_error", msg: "bad form"})
			return
		}
		if r.Method == http.MethodGet {
			form = r.URL.Query()
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.requests = append(s.requests, r.Method+" "+r.URL.Path)
		key := r.Header.Get("Idempotency-Key")
		if key != "" && r.Method == http.MethodPost {
			if prev, ok := s.idem[key]; ok {
				if prev.params != r.URL.Path+"?"+string(raw) {
					writeErr(w, &apiErr{status: 400, typ: "idempotency_error", msg: "Keys for idempotent requests can only be used with the same parameters they were first used with."})
					return
				}
				w.Header().Set("Idempotent-Replayed", "true")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(prev.status)
				w.Write(prev.body) //nolint:errcheck
				return
			}
		}
		v, e := h(r, form)
		status, body := 200, []byte(nil)
		if e != nil {
			status, body = e.status, errBody(e)
		} else {
			body, _ = json.Marshal(v)
		}
		if key != "" && r.Method == http.MethodPost && (e == nil || e.status >= 500) {
			s.idem[key] = stored{params: r.URL.Path + "?" + string(raw), status: status, body: body}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body) //nolint:errcheck
	}
}

func errBody(e *apiErr) []byte {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"type": e.typ, "code": e.code, "message": e.msg, "param": e.param}})
	return b
}

func writeErr(w http.ResponseWriter, e *apiErr) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	w.Write(errBody(e)) //nolint:errcheck
}

func metadata(form url.Values, prefix string) map[string]any {
	m := map[string]any{}
	for k, v := range form {
		if strings.HasPrefix(k, prefix+"[") && strings.HasSuffix(k, "]") {
			m[strings.TrimSuffix(strings.TrimPrefix(k, prefix+"["), "]")] = v[0]
		}
	}
	return m
}

func (s *Stripe) createCustomer(_ *http.Request, form url.Values) (any, *apiErr) {
	c := map[string]any{"id": s.id("cus"), "object": "customer", "email": form.Get("email"), "name": form.Get("name"),
		"metadata": metadata(form, "metadata"), "created": s.Now().Unix(), "livemode": false}
	s.customers[c["id"].(string)] = c
	return c, nil
}

func (s *Stripe) createSession(_ *http.Request, form url.Values) (any, *apiErr) {
	if form.Get("mode") != "payment" {
		return nil, &apiErr{status: 400, typ: "invalid_request_error", param: "mode", msg: "mode must be payment here"}
	}
	amount, err := strconv.ParseInt(form.Get("line_items[0][price_data][unit_amount]"), 10, 64)
	if err != nil || amount < 1 {
		return nil, &apiErr{status: 400, typ: "invalid_request_error", param: "line_items[0][price_data][unit_amount]", msg: "bad amount"}
	}
	qty, _ := strconv.ParseInt(form.Get("line_items[0][quantity]"), 10, 64)
	customer := form.Get("customer")
	if _, ok := s.customers[customer]; !ok {
		return nil, &apiErr{status: 400, typ: "invalid_request_error", code: "resource_missing", param: "customer", msg: "No such customer"}
	}
	now := s.Now().Unix()
	expires := now + 24*3600
	if e := form.Get("expires_at"); e != "" {
		expires, _ = strconv.ParseInt(e, 10, 64)
		if expires < now+30*60-60 || expires > now+24*3600+60 {
			return nil, &apiErr{status: 400, typ: "invalid_request_error", param: "expires_at", msg: "expires_at must be 30 minutes to 24 hours away"}
		}
	}
	id := s.id("cs")
	sess := map[string]any{
		"id": id, "object": "checkout.session", "mode": "payment", "status": "open", "payment_status": "unpaid",
		"amount_subtotal": amount * qty, "amount_total": amount * qty, "currency": form.Get("line_items[0][price_data][currency]"),
		"customer": customer, "client_reference_id": form.Get("client_reference_id"), "metadata": metadata(form, "metadata"),
		"payment_intent": nil, "url": s.Base + "/pay/" + id, "success_url": form.Get("success_url"), "cancel_url": form.Get("cancel_url"),
		"created": now, "expires_at": expires, "livemode": false, "ui_mode": "hosted_page", "customer_creation": nil,
	}
	s.sessions[id] = sess
	s.order = append(s.order, id)
	return sess, nil
}

func (s *Stripe) getSession(r *http.Request, _ url.Values) (any, *apiErr) {
	sess, ok := s.sessions[r.PathValue("id")]
	if !ok {
		return nil, &apiErr{status: 404, typ: "invalid_request_error", code: "resource_missing", param: "id", msg: "No such checkout.session"}
	}
	return sess, nil
}

func (s *Stripe) expireSession(r *http.Request, _ url.Values) (any, *apiErr) {
	sess, ok := s.sessions[r.PathValue("id")]
	if !ok {
		return nil, &apiErr{status: 404, typ: "invalid_request_error", code: "resource_missing", param: "id", msg: "No such checkout.session"}
	}
	if sess["status"] != "open" {
		return nil, &apiErr{status: 400, typ: "invalid_request_error", msg: "Only Checkout Sessions with a status of open can be expired."}
	}
	s.expireLocked(sess)
	return sess, nil
}

func (s *Stripe) expireLocked(sess map[string]any) {
	sess["status"], sess["url"] = "expired", nil
	s.emitLocked("checkout.session.expired", sess)
}

// listSessions is newest first, created[gte] and starting_after honoured.
func (s *Stripe) listSessions(_ *http.Request, q url.Values) (any, *apiErr) {
	gte, _ := strconv.ParseInt(q.Get("created[gte]"), 10, 64)
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 || limit > 100 {
		limit = 10
	}
	after := q.Get("starting_after")
	var data []any
	skipping := after != ""
	for i := len(s.order) - 1; i >= 0; i-- {
		sess := s.sessions[s.order[i]]
		if skipping {
			if s.order[i] == after {
				skipping = false
			}
			continue
		}
		if sess["created"].(int64) < gte {
			continue
		}
		data = append(data, sess)
	}
	more := len(data) > limit
	if more {
		data = data[:limit]
	}
	if data == nil {
		data = []any{}
	}
	return map[string]any{"object": "list", "url": "/v1/checkout/sessions", "has_more": more, "data": data}, nil
}

func (s *Stripe) createPortal(_ *http.Request, form url.Values) (any, *apiErr) {
	c := form.Get("customer")
	if _, ok := s.customers[c]; !ok {
		return nil, &apiErr{status: 400, typ: "invalid_request_error", code: "resource_missing", param: "customer", msg: "No such customer"}
	}
	id := s.id("bps")
	return map[string]any{"id": id, "object": "billing_portal.session", "customer": c, "return_url": form.Get("return_url"),
		"url": s.Base + "/portal/" + id, "created": s.Now().Unix(), "livemode": false}, nil
}

func (s *Stripe) createRefund(_ *http.Request, form url.Values) (any, *apiErr) {
	pi := form.Get("payment_intent")
	ch, ok := s.charges[pi]
	if !ok {
		return nil, &apiErr{status: 400, typ: "invalid_request_error", code: "resource_missing", param: "payment_intent", msg: "No such payment_intent"}
	}
	amount := ch["amount"].(int64) - ch["amount_refunded"].(int64)
	if a := form.Get("amount"); a != "" {
		amount, _ = strconv.ParseInt(a, 10, 64)
	}
	re, e := s.refundLocked(pi, amount)
	if e != nil {
		return nil, e
	}
	re["metadata"] = metadata(form, "metadata")
	for k, v := range form {
		if strings.HasPrefix(k, "expand") && len(v) > 0 && v[0] == "charge" {
			snap := map[string]any{}
			for ck, cv := range ch {
				snap[ck] = cv
			}
			re["charge"] = snap
		}
	}
	if r := form.Get("reason"); r != "" {
		re["reason"] = r
	}
	return re, nil
}

func (s *Stripe) refundLocked(pi string, amount int64) (map[string]any, *apiErr) {
	ch := s.charges[pi]
	left := ch["amount"].(int64) - ch["amount_refunded"].(int64)
	if left == 0 {
		return nil, &apiErr{status: 400, typ: "invalid_request_error", code: "charge_already_refunded", msg: "Charge has already been refunded."}
	}
	if amount < 1 || amount > left {
		return nil, &apiErr{status: 400, typ: "invalid_request_error", code: "amount_too_large", param: "amount", msg: "Refund amount is greater than unrefunded amount on charge"}
	}
	ch["amount_refunded"] = ch["amount_refunded"].(int64) + amount
	ch["refunded"] = ch["amount_refunded"] == ch["amount"]
	re := map[string]any{"id": s.id("re"), "object": "refund", "amount": amount, "charge": ch["id"], "payment_intent": pi,
		"currency": ch["currency"], "status": "succeeded", "created": s.Now().Unix()}
	s.emitLocked("charge.refunded", ch)
	return re, nil
}

// emitLocked records an event with a snapshot of obj.
func (s *Stripe) emitLocked(typ string, obj map[string]any) Event {
	snap := map[string]any{}
	for k, v := range obj {
		snap[k] = v
	}
	ev := map[string]any{
		"id": s.id("evt"), "object": "event", "api_version": stripe.APIVersion, "created": s.Now().Unix(), "livemode": false,
		"pending_webhooks": 1, "request": map[string]any{"id": nil, "idempotency_key": nil}, "type": typ,
		"data": map[string]any{"object": snap},
	}
	body, _ := json.Marshal(ev)
	e := Event{ID: ev["id"].(string), Type: typ, Body: body}
	s.events = append(s.events, e)
	return e
}

// Events are every event so far, in the order they happened.
func (s *Stripe) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// Session is a copy of a session.
func (s *Stripe) Session(id string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]any{}
	for k, v := range s.sessions[id] {
		out[k] = v
	}
	return out
}

// SessionIDs are every session's id, oldest first.
func (s *Stripe) SessionIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.order...)
}

// Pay completes a session as Checkout does when the customer pays by card:
// a PaymentIntent and a charge, then checkout.session.completed (paid).
// With async, the payment is delayed: completed comes unpaid, and Settle
// decides it later.
func (s *Stripe) Pay(sessionID string, async bool) ([]Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.payLocked(sessionID, async)
}

func (s *Stripe) payLocked(sessionID string, async bool) ([]Event, error) {
	sess, ok := s.sessions[sessionID]
	if !ok || sess["status"] != "open" {
		return nil, fmt.Errorf("session %s is not open", sessionID)
	}
	pi := s.id("pi")
	sess["status"], sess["payment_intent"], sess["url"] = "complete", pi, nil
	if async {
		sess["payment_status"] = "unpaid"
	} else {
		sess["payment_status"] = "paid"
		s.chargeLocked(sess)
	}
	return []Event{s.emitLocked("checkout.session.completed", sess)}, nil
}

func (s *Stripe) chargeLocked(sess map[string]any) {
	pi := sess["payment_intent"].(string)
	s.charges[pi] = map[string]any{"id": s.id("ch"), "object": "charge", "amount": sess["amount_total"], "amount_captured": sess["amount_total"],
		"amount_refunded": int64(0), "refunded": false, "currency": sess["currency"], "payment_intent": pi, "customer": sess["customer"],
		"paid": true, "captured": true, "status": "succeeded", "metadata": map[string]any{}, "created": s.Now().Unix(), "livemode": false}
}

// Settle ends a delayed payment: succeeded or failed.
func (s *Stripe) Settle(sessionID string, ok bool) (Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, found := s.sessions[sessionID]
	if !found || sess["status"] != "complete" || sess["payment_status"] != "unpaid" {
		return Event{}, fmt.Errorf("session %s has no delayed payment", sessionID)
	}
	if !ok {
		return s.emitLocked("checkout.session.async_payment_failed", sess), nil
	}
	sess["payment_status"] = "paid"
	s.chargeLocked(sess)
	return s.emitLocked("checkout.session.async_payment_succeeded", sess), nil
}

// Expire expires an open session (as its time running out does).
func (s *Stripe) Expire(sessionID string) (Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[sessionID]
	if !ok || sess["status"] != "open" {
		return Event{}, fmt.Errorf("session %s is not open", sessionID)
	}
	s.expireLocked(sess)
	return s.events[len(s.events)-1], nil
}

// Tamper changes a session's amount as Stripe would never do, to test
// that a mismatch is caught.
func (s *Stripe) Tamper(sessionID string, amount int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions[sessionID]["amount_total"] = amount
}

// DashboardRefund refunds amount of a session's charge as an operator
// would in Stripe's dashboard (the API's own refund behaves the same).
func (s *Stripe) DashboardRefund(sessionID string, amount int64) (Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pi, _ := s.sessions[sessionID]["payment_intent"].(string)
	if _, ok := s.charges[pi]; !ok {
		return Event{}, fmt.Errorf("session %s has no charge", sessionID)
	}
	if _, e := s.refundLocked(pi, amount); e != nil {
		return Event{}, fmt.Errorf("refund: %s", e.msg)
	}
	return s.events[len(s.events)-1], nil
}

// Dispute opens (or, with closed, closes with status won or lost) a
// dispute of amount on a session's charge.
func (s *Stripe) Dispute(sessionID, disputeID string, amount int64, closed bool, status string) Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	pi, _ := s.sessions[sessionID]["payment_intent"].(string)
	ch := s.charges[pi]
	if status == "" {
		status = "needs_response"
	}
	d := map[string]any{"id": disputeID, "object": "dispute", "amount": amount, "currency": ch["currency"], "charge": ch["id"],
		"payment_intent": pi, "status": status, "reason": "fraudulent", "created": s.Now().Unix(), "livemode": false}
	typ := "charge.dispute.created"
	if closed {
		typ = "charge.dispute.closed"
	}
	return s.emitLocked(typ, d)
}

// Deliver POSTs e to url signed with secrets at t (zero: now), as Stripe
// delivers a webhook, and returns the status.
func Deliver(client *http.Client, url string, body []byte, t time.Time, secrets ...string) (int, error) {
	if t.IsZero() {
		t = time.Now()
	}
	return DeliverWithHeader(client, url, body, payments.SignatureHeader(body, t, secrets...))
}

// DeliverWithHeader POSTs body with the given Stripe-Signature ("" for none).
func DeliverWithHeader(client *http.Client, url string, body []byte, sig string) (int, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
	if sig != "" {
		req.Header.Set("Stripe-Signature", sig)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body) //nolint:errcheck
	resp.Body.Close()
	return resp.StatusCode, nil
}

// payPage is the hosted Checkout page: one button that pays.
func (s *Stripe) payPage(w http.ResponseWriter, r *http.Request) {
	sess := s.Session(r.PathValue("id"))
	if sess["status"] != "open" {
		http.Error(w, "This Checkout Session is no longer open.", http.StatusGone)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><meta name="viewport" content="width=device-width"><title>Stand-in Checkout</title>
<h1>Pay %d %s</h1><form method="post"><button type="submit">Pay</button></form>
<p><a href="%s">Back</a></p>`, sess["amount_total"], html.EscapeString(strings.ToUpper(fmt.Sprint(sess["currency"]))),
		html.EscapeString(fmt.Sprint(sess["cancel_url"])))
}

// payAndReturn pays, delivers the signed events to WebhookURL and sends
// the browser to the success URL, as Checkout does.
func (s *Stripe) payAndReturn(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	evs, err := s.Pay(id, false)
	if err != nil {
		http.Error(w, err.Error(), http.StatusGone)
		return
	}
	if err := s.deliverAll(evs); err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	success := strings.ReplaceAll(fmt.Sprint(s.Session(id)["success_url"]), "{CHECKOUT_SESSION_ID}", id)
	http.Redirect(w, r, success, http.StatusSeeOther)
}

func (s *Stripe) deliverAll(evs []Event) error {
	for _, e := range evs {
		status, err := Deliver(http.DefaultClient, s.WebhookURL, e.Body, time.Time{}, s.Secrets...)
		if err != nil || status != http.StatusOK {
			return fmt.Errorf("deliver %s: %d %v", e.Type, status, err)
		}
	}
	return nil
}

// testRefund (POST /_test/refund?session=…&amount=…) refunds as Stripe's
// dashboard would and delivers the event.
func (s *Stripe) testRefund(w http.ResponseWriter, r *http.Request) {
	amount, _ := strconv.ParseInt(r.URL.Query().Get("amount"), 10, 64)
	e, err := s.DashboardRefund(r.URL.Query().Get("session"), amount)
	if err == nil {
		err = s.deliverAll([]Event{e})
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
