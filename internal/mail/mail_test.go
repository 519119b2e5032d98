package mail_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/mail"
	"github.com/gpuaas/gpuaas/internal/notify"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/dbtest"
)

var ctx = context.Background()

// peer is the real SMTP server (mailpit) and its HTTP API, from
// GPUAAS_TEST_SMTP and GPUAAS_TEST_MAILPIT_API (make test sets them).
func peer(t *testing.T) (smtpURL, api string) {
	t.Helper()
	smtpURL, api = os.Getenv("GPUAAS_TEST_SMTP"), os.Getenv("GPUAAS_TEST_MAILPIT_API")
	if smtpURL == "" || api == "" {
		if strings.EqualFold(os.Getenv("CI"), "true") {
			t.Fatal("GPUAAS_TEST_SMTP and GPUAAS_TEST_MAILPIT_API are required in CI (scripts/ensure-services.sh mailpit)")
		}
		t.Skip("GPUAAS_TEST_SMTP / GPUAAS_TEST_MAILPIT_API not set: run scripts/ensure-services.sh mailpit")
	}
	return smtpURL, api
}

// switchable is a Sender whose server a test can change: an SMTP outage is
// a closed port.
type switchable struct {
	mu  sync.Mutex
	srv mail.Server
}

func (s *switchable) set(srv mail.Server) { s.mu.Lock(); s.srv = srv; s.mu.Unlock() }
func (s *switchable) Send(ctx context.Context, m mail.Message) error {
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	return srv.Send(ctx, m)
}

type env struct {
	st     *store.Store
	relay  *notify.Relay
	sender *switchable
	mailer *mail.Mailer
	reg    *prometheus.Registry
	up     mail.Server
	api    string
}

func setup(t *testing.T) *env {
	t.Helper()
	smtpURL, api := peer(t)
	nc, err := nats.Connect("nats://127.0.0.1:4222")
	if err != nil {
		t.Fatalf("NATS: %v", err)
	}
	t.Cleanup(nc.Close)
	up, err := mail.ParseServer(smtpURL, "GPUaaS <noreply@gpuaas.test>")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{st: dbtest.New(t), sender: &switchable{srv: up}, reg: prometheus.NewRegistry(), up: up, api: api}
	n := events.Naming{Namespace: "t" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]}
	e.relay = notify.NewRelay(nc, e.st, n).WithMail(&notify.MailOptions{ConsoleURL: "https://console.gpuaas.test"})
	e.mailer = mail.NewMailer(e.st, e.sender, e.reg)
	return e
}

// user inserts a user with an address of its own, so that this test finds
// its mail among others' in the shared mailpit.
func (e *env) user(t *testing.T) (uuid.UUID, string) {
	t.Helper()
	id := uuid.New()
	addr := "u" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12] + "@gpuaas.test"
	if _, err := e.st.Pool().Exec(ctx, `INSERT INTO users (id, username, email, role, password_hash) VALUES ($1, $2, $3, 'user', 'x')`,
		id, "u"+id.String()[:8], addr); err != nil {
		t.Fatal(err)
	}
	return id, addr
}

func (e *env) lowBalance(t *testing.T, user uuid.UUID, balance int64) {
	t.Helper()
	runway := int64(1500)
	data, _ := json.Marshal(events.Balance{UserID: user, BalanceMinor: balance, Currency: "USD", RunwaySeconds: &runway, At: time.Now()})
	if err := e.relay.HandleEvent(ctx, events.Envelope{ID: uuid.Must(uuid.NewV7()), Type: events.BillingLowBalance, Data: data}); err != nil {
		t.Fatal(err)
	}
}

type summary struct {
	ID      string `json:"ID"`
	Subject string `json:"Subject"`
	To      []struct {
		Address string `json:"Address"`
	} `json:"To"`
}

// inbox lists, through mailpit's API, the messages sent to addr.
func (e *env) inbox(t *testing.T, addr string) []summary {
	t.Helper()
	var out struct {
		Messages []summary `json:"messages"`
	}
	resp, err := http.Get(e.api + "/api/v1/messages?limit=1000")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	var mine []summary
	for _, m := range out.Messages {
		for _, to := range m.To {
			if strings.EqualFold(to.Address, addr) {
				mine = append(mine, m)
			}
		}
	}
	return mine
}

func (e *env) message(t *testing.T, id string) (text, html string) {
	t.Helper()
	var m struct{ Text, HTML string }
	resp, err := http.Get(e.api + "/api/v1/message/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m.Text, m.HTML
}

// waitInbox polls mailpit until addr has want messages (mailpit stores a
// message just after it answers the DATA command).
func (e *env) waitInbox(t *testing.T, addr string, want int) []summary {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := e.inbox(t, addr)
		if len(got) == want {
			return got
		}
		if len(got) > want || time.Now().After(deadline) {
			t.Fatalf("%s has %d messages, want %d", addr, len(got), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *env) pending(t *testing.T) int {
	t.Helper()
	n, err := e.st.CountPendingMail(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.Metric) > 0 {
			if c := mf.Metric[0].GetCounter(); c != nil {
				return c.GetValue()
			}
			return mf.Metric[0].GetGauge().GetValue()
		}
	}
	return 0
}

// The low-balance notification arrives by email at a real SMTP server, as
// plain text and HTML, once however often the event is delivered.
func TestLowBalanceEmailArrives(t *testing.T) {
	e := setup(t)
	user, addr := e.user(t)
	e.lowBalance(t, user, 42)
	if sent, failed, err := e.mailer.SendDue(ctx, time.Now()); err != nil || sent != 1 || failed != 0 {
		t.Fatalf("send: %d sent, %d failed, %v", sent, failed, err)
	}
	got := e.waitInbox(t, addr, 1)
	if got[0].Subject != "Low balance" {
		t.Fatalf("subject %q", got[0].Subject)
	}
	text, html := e.message(t, got[0].ID)
	if !strings.Contains(text, "USD 0.42") || !strings.Contains(text, "https://console.gpuaas.test/billing?add_credit=1") {
		t.Fatalf("text part %q lacks the balance or the link", text)
	}
	if !strings.Contains(html, "USD 0.42") || !strings.Contains(html, "<a href=") {
		t.Fatalf("HTML part %q", html)
	}
	if n := counter(t, e.reg, "gpuaas_mail_sent_total"); n != 1 {
		t.Fatalf("gpuaas_mail_sent_total %v", n)
	}
	// Nothing is left to send: a second pass sends nothing again.
	if sent, _, err := e.mailer.SendDue(ctx, time.Now().Add(time.Hour)); err != nil || sent != 0 {
		t.Fatalf("second pass sent %d: %v", sent, err)
	}
}

// A user who opted out of a kind is not mailed it; the notification is
// still stored. Opting back in mails the next one.
func TestOptOutSuppressesEmail(t *testing.T) {
	e := setup(t)
	user, addr := e.user(t)
	prefs := notify.NewPreferences(e.st, true)
	p, err := prefs.Set(ctx, user, []string{events.BillingLowBalance})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range p.Kinds {
		if k.Email == (k.Kind == events.BillingLowBalance) {
			t.Fatalf("preferences %+v", p.Kinds)
		}
	}
	if _, err := prefs.Set(ctx, user, []string{"node.offline"}); err == nil {
		t.Fatal("a kind that is never mailed was accepted")
	}
	e.lowBalance(t, user, 42)
	if n := e.pending(t); n != 0 {
		t.Fatalf("%d mails queued for an opted-out kind", n)
	}
	list, _, err := notify.NewInbox(e.st).List(ctx, user, false, uuid.Nil, 10)
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("notification not stored: %+v %v", list, err)
	}
	if _, err := prefs.Set(ctx, user, nil); err != nil {
		t.Fatal(err)
	}
	e.lowBalance(t, user, 41)
	if sent, _, err := e.mailer.SendDue(ctx, time.Now()); err != nil || sent != 1 {
		t.Fatalf("sent %d: %v", sent, err)
	}
	got := e.waitInbox(t, addr, 1)
	if text, _ := e.message(t, got[0].ID); !strings.Contains(text, "USD 0.41") {
		t.Fatalf("mailed %q, want the one after opting back in", text)
	}
}

// An SMTP outage delays mail and loses none: every send fails against a
// closed port and backs off; once the server is back every message
// arrives exactly once.
func TestSMTPOutageDelaysAndLosesNone(t *testing.T) {
	e := setup(t)
	user, addr := e.user(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().(*net.TCPAddr).Port
	l.Close()
	down := e.up
	down.Port = fmt.Sprint(closed)
	e.sender.set(down)

	const n = 5
	for i := range n {
		e.lowBalance(t, user, int64(100+i))
	}
	now := time.Now()
	for range n + 2 {
		if sent, _, err := e.mailer.SendDue(ctx, now); err != nil || sent != 0 {
			t.Fatalf("sent %d during the outage: %v", sent, err)
		}
	}
	if p := e.pending(t); p != n {
		t.Fatalf("%d pending during the outage, want %d", p, n)
	}
	if f := counter(t, e.reg, "gpuaas_mail_failed_total"); f < n {
		t.Fatalf("gpuaas_mail_failed_total %v, want every message tried", f)
	}
	if d := counter(t, e.reg, "gpuaas_mail_queue_depth"); d != n {
		t.Fatalf("gpuaas_mail_queue_depth %v, want %d", d, n)
	}
	// Backing off: nothing is due again at once.
	e.sender.set(e.up)
	if sent, _, err := e.mailer.SendDue(ctx, now); err != nil || sent != 0 {
		t.Fatalf("sent %d before the backoff ended: %v", sent, err)
	}
	if sent, failed, err := e.mailer.SendDue(ctx, now.Add(mail.Backoff(1))); err != nil || sent != n || failed != 0 {
		t.Fatalf("after the outage: %d sent, %d failed, %v", sent, failed, err)
	}
	got := e.waitInbox(t, addr, n)
	seen := map[string]bool{}
	for _, m := range got {
		text, _ := e.message(t, m.ID)
		for i := range n {
			if strings.Contains(text, fmt.Sprintf("USD 1.%02d", i)) {
				seen[fmt.Sprint(i)] = true
			}
		}
	}
	if len(seen) != n {
		t.Fatalf("got %d distinct messages of %d", len(seen), n)
	}
	if p := e.pending(t); p != 0 {
		t.Fatalf("%d still pending", p)
	}
}

// A payment event written by the payments code (notify.EnqueuePayment)
// ends as an email too, once, with the amount and its currency.
func TestPaymentEmailArrives(t *testing.T) {
	e := setup(t)
	user, addr := e.user(t)
	bal := int64(7500)
	p := events.Payment{UserID: user, PaymentID: uuid.New(), AmountMinor: 5000, Currency: "USD", BalanceMinor: &bal, At: time.Now()}
	var env events.Envelope
	if err := e.st.InTx(ctx, func(tx *store.Store) error {
		id, err := notify.EnqueuePayment(ctx, tx, events.Naming{Namespace: "t"}, events.PaymentSucceeded, p)
		raw, _ := json.Marshal(p)
		env = events.Envelope{ID: id, Type: events.PaymentSucceeded, Data: raw}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // redelivered: mailed once
		if err := e.relay.HandleEvent(ctx, env); err != nil {
			t.Fatal(err)
		}
	}
	if sent, _, err := e.mailer.SendDue(ctx, time.Now()); err != nil || sent != 1 {
		t.Fatalf("sent %d: %v", sent, err)
	}
	got := e.waitInbox(t, addr, 1)
	if got[0].Subject != "Payment of USD 50.00 received" {
		t.Fatalf("subject %q", got[0].Subject)
	}
	if text, _ := e.message(t, got[0].ID); !strings.Contains(text, "USD 75.00") {
		t.Fatalf("text %q lacks the new balance", text)
	}
}

func TestBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{1: 30 * time.Second, 2: time.Minute, 3: 2 * time.Minute, 20: time.Hour} {
		if got := mail.Backoff(n); got != want {
			t.Errorf("Backoff(%d) = %s, want %s", n, got, want)
		}
	}
}
