package payments_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/ledger"
	"github.com/gpuaas/gpuaas/internal/payments/paymentstest"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/sdk"
)

var ctx = context.Background()

const (
	secretKey = "sk_test_gpuaas"
	secretA   = "whsec_test_first"
	secretB   = "whsec_test_second"
)

// env is a control plane whose Stripe is the stand-in, reached through a
// proxy that also sends every request to stripe-mock and fails the test on
// any that Stripe's OpenAPI would refuse.
type env struct {
	t       *testing.T
	srv     *servertest.Env
	stripe  *paymentstest.Stripe
	hook    string
	secrets []string
	checked *mockChecker
}

type options struct {
	secrets []string // the server's webhook secrets; default secretA
	noKey   bool     // payments off
	clock   func() time.Time
}

func start(t *testing.T, o options) *env {
	t.Helper()
	if len(o.secrets) == 0 {
		o.secrets = []string{secretA}
	}
	fake := paymentstest.New()
	if o.clock != nil {
		fake.Now = o.clock
	}
	fakeSrv := httptest.NewServer(fake.Handler())
	t.Cleanup(fakeSrv.Close)
	fake.Base = fakeSrv.URL
	checker := newMockChecker(t, fakeSrv.URL)
	proxy := httptest.NewServer(checker)
	t.Cleanup(proxy.Close)

	dir := t.TempDir()
	keyFile, hookFile := filepath.Join(dir, "stripe.key"), filepath.Join(dir, "whsec")
	must(t, os.WriteFile(keyFile, []byte(secretKey+"\n"), 0o600))
	must(t, os.WriteFile(hookFile, []byte(strings.Join(o.secrets, "\n")+"\n"), 0o600))
	srv := servertest.Start(t, func(c *config.Server) {
		if !o.noKey {
			c.Payments.StripeSecretKeyFile, c.Payments.StripeWebhookSecretFile = keyFile, hookFile
		}
		c.Payments.StripeAPIURL = proxy.URL
		c.Payments.ReconcileInterval = 0
		c.Payments.TopupMinMinor, c.Payments.TopupMaxMinor = 500, 100_000
		c.APIRate, c.APIBurst = 10_000, 10_000
	})
	e := &env{t: t, srv: srv, stripe: fake, hook: srv.URL + "/api/v1/payments/webhooks/stripe", secrets: o.secrets, checked: checker}
	fake.WebhookURL, fake.Secrets = e.hook, o.secrets
	return e
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// mockChecker forwards to the stand-in after stripe-mock has accepted the
// same request. Without stripe-mock (GPUAAS_TEST_STRIPE_MOCK unset and
// nothing on its port) the check is skipped, unless CI is set.
type mockChecker struct {
	t        *testing.T
	standIn  string
	mock     string
	mu       sync.Mutex
	checked  int
	failures []string
}

func newMockChecker(t *testing.T, standIn string) *mockChecker {
	mock := os.Getenv("GPUAAS_TEST_STRIPE_MOCK")
	if mock == "" {
		mock = "http://127.0.0.1:12111"
	}
	c := &mockChecker{t: t, standIn: standIn, mock: strings.TrimRight(mock, "/")}
	if resp, err := http.Get(c.mock + "/v1/customers"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("stripe-mock is not reachable at %s (scripts/ensure-services.sh stripe-mock): %v", c.mock, err)
		}
		t.Logf("stripe-mock is not reachable at %s; outbound requests are not checked against Stripe's OpenAPI", c.mock)
		c.mock = ""
	} else {
		resp.Body.Close()
	}
	t.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.mock != "" {
			t.Logf("stripe-mock checked %d requests", c.checked)
		}
		for _, f := range c.failures {
			t.Errorf("stripe-mock refused a request our client made: %s", f)
		}
	})
	return c
}

func (c *mockChecker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if c.mock != "" {
		req, _ := http.NewRequest(r.Method, c.mock+r.URL.RequestURI(), bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		c.mu.Lock()
		c.checked++
		if err != nil {
			c.failures = append(c.failures, fmt.Sprintf("%s %s: %v", r.Method, r.URL.Path, err))
		} else {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode >= 400 {
				c.failures = append(c.failures, fmt.Sprintf("%s %s?%s body %q: %d %s", r.Method, r.URL.Path, r.URL.RawQuery, body, resp.StatusCode, b))
			}
		}
		c.mu.Unlock()
	}
	req, _ := http.NewRequest(r.Method, c.standIn+r.URL.RequestURI(), bytes.NewReader(body))
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body) //nolint:errcheck
}

// call sends a JSON request through c (contract-checked) and decodes a
// 2xx answer into out; it returns the status and the error code.
func call(t testing.TB, c *sdk.Client, method, path string, body any, key string, out any) (int, string) {
	t.Helper()
	hdr := http.Header{}
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
		hdr.Set("Content-Type", "application/json")
	}
	if key != "" {
		hdr.Set("Idempotency-Key", key)
	}
	resp, err := c.Do(ctx, method, path, rd, hdr)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		var e struct {
			Code string `json:"code"`
		}
		_ = json.Unmarshal(raw, &e)
		return resp.StatusCode, e.Code
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode, ""
}

// checkout starts a top-up of amount and returns it with its session id.
func (e *env) checkout(c *sdk.Client, amount int64) (api.CheckoutSession, string) {
	e.t.Helper()
	var cs api.CheckoutSession
	if st, code := call(e.t, c, "POST", "/api/v1/payments/checkout-sessions",
		api.CheckoutSessionRequest{AmountMinor: amount, Currency: "usd"}, uuid.NewString(), &cs); st != 201 {
		e.t.Fatalf("checkout: %d %s", st, code)
	}
	return cs, e.sessionOf(cs)
}

// sessionOf is the Stripe session id of a checkout (its url names it).
func (e *env) sessionOf(cs api.CheckoutSession) string {
	return cs.Url[strings.LastIndex(cs.Url, "/")+1:]
}

// deliver sends one event signed with the given secrets (default the
// server's first) and returns the status.
func (e *env) deliver(ev paymentstest.Event, secrets ...string) int {
	e.t.Helper()
	if len(secrets) == 0 {
		secrets = e.secrets[:1]
	}
	st, err := paymentstest.Deliver(e.srv.HTTPClient(), e.hook, ev.Body, time.Time{}, secrets...)
	if err != nil {
		e.t.Fatalf("deliver %s: %v", ev.Type, err)
	}
	return st
}

func (e *env) balance(user uuid.UUID) int64 {
	e.t.Helper()
	b, err := ledger.Balance(ctx, e.srv.App.Store.Queries, user, "USD")
	must(e.t, err)
	return b
}

func (e *env) payment(id uuid.UUID) api.PaymentDetail {
	e.t.Helper()
	d, err := e.srv.App.Payments.AdminGet(ctx, id)
	must(e.t, err)
	return d
}

func (e *env) checkLedger() {
	e.t.Helper()
	if err := ledger.Check(ctx, e.srv.App.Store.Queries); err != nil {
		e.t.Fatalf("ledger invariants: %v", err)
	}
}

// metric is the value of a series on /metrics, 0 when absent.
func (e *env) metric(series string) float64 {
	e.t.Helper()
	resp, err := http.Get(e.srv.URL + "/metrics")
	must(e.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindSubmatch(b)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}
