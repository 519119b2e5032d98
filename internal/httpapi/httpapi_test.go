package httpapi_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/httpapi"
)

type body struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// stack is the middleware order the server uses, around one echo route.
func stack(t *testing.T, limit int64) http.Handler {
	t.Helper()
	rt := httpapi.NewRouter()
	rt.HandleFunc("POST", "/echo", func(w http.ResponseWriter, r *http.Request) {
		var b body
		if err := httpapi.Decode(r, &b); err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, b)
	})
	rt.HandleFunc("GET", "/panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	rt.HandleFunc("GET", "/slow", func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteError(w, r, apperr.RateLimited(1500*time.Millisecond, "slow down"))
	})
	rt.HandleFunc("GET", "/internal", func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteError(w, r, errors.New("secret detail: password=hunter2"))
	})
	rt.HandleFunc("GET", "/pg-restart", func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteError(w, r, fmt.Errorf("get user: %w", &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}))
	})
	var h http.Handler = rt
	h = httpapi.LimitBody(limit)(h)
	h = httpapi.Observe(httpapi.NewMetrics(prometheus.NewRegistry()), h)
	h = httpapi.Recover(h)
	return httpapi.RequestID(h)
}

type envelope struct {
	Code          string `json:"code"`
	Message       string `json:"message"`
	CorrelationID string `json:"correlation_id"`
}

func do(t *testing.T, h http.Handler, method, path, payload string, hdr map[string]string) (*httptest.ResponseRecorder, envelope) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(payload))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var env envelope
	if rec.Code >= 400 {
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
			t.Fatalf("%s %s: error body is not the envelope: %q", method, path, rec.Body.String())
		}
		if env.CorrelationID == "" || env.CorrelationID != rec.Header().Get("X-Request-ID") {
			t.Fatalf("correlation_id %q does not match X-Request-ID %q", env.CorrelationID, rec.Header().Get("X-Request-ID"))
		}
	}
	return rec, env
}

func TestDecodeIsStrict(t *testing.T) {
	h := stack(t, 1024)
	cases := []struct {
		name, payload string
		status        int
		code          string
	}{
		{"ok", `{"name":"a","count":2}`, 200, ""},
		{"unknown field", `{"name":"a","extra":1}`, 400, "invalid_request"},
		{"wrong type", `{"name":5}`, 400, "invalid_request"},
		{"trailing garbage", `{"name":"a"} xyz`, 400, "invalid_request"},
		{"two objects", `{"name":"a"}{"name":"b"}`, 400, "invalid_request"},
		{"malformed", `{"name":`, 400, "invalid_request"},
		{"not an object", `[1,2]`, 400, "invalid_request"},
		{"empty", ``, 400, "invalid_request"},
		{"too large", `{"name":"` + strings.Repeat("x", 2000) + `"}`, 413, "payload_too_large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec, env := do(t, h, "POST", "/echo", c.payload, map[string]string{"Content-Type": "application/json"})
			if rec.Code != c.status || env.Code != c.code {
				t.Fatalf("got %d %q (%s), want %d %q", rec.Code, env.Code, env.Message, c.status, c.code)
			}
		})
	}
}

func TestBodyLimitWithoutContentLength(t *testing.T) {
	h := stack(t, 1024)
	req := httptest.NewRequest("POST", "/echo", strings.NewReader(`{"name":"`+strings.Repeat("y", 5000)+`"}`))
	req.ContentLength = -1 // chunked: the limit must still hold
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("got %d: %s", rec.Code, rec.Body)
	}
}

func TestWrongContentTypeIsRefused(t *testing.T) {
	rec, env := do(t, stack(t, 1024), "POST", "/echo", `{"name":"a"}`, map[string]string{"Content-Type": "text/plain"})
	if rec.Code != 400 || env.Code != "invalid_request" {
		t.Fatalf("got %d %q", rec.Code, env.Code)
	}
}

func TestRequestIDEchoedOrGenerated(t *testing.T) {
	h := stack(t, 1024)
	rec, _ := do(t, h, "POST", "/echo", `{}`, map[string]string{"X-Request-ID": "abc-123"})
	if got := rec.Header().Get("X-Request-ID"); got != "abc-123" {
		t.Fatalf("echoed %q", got)
	}
	rec, _ = do(t, h, "POST", "/echo", `{}`, map[string]string{"X-Request-ID": "bad\x01id with spaces"})
	if got := rec.Header().Get("X-Request-ID"); len(got) != 32 {
		t.Fatalf("unsafe id was not replaced: %q", got)
	}
}

func TestUnknownRouteAndMethodUseEnvelope(t *testing.T) {
	h := stack(t, 1024)
	rec, env := do(t, h, "GET", "/nope", "", nil)
	if rec.Code != 404 || env.Code != "not_found" {
		t.Fatalf("unknown route: %d %q", rec.Code, env.Code)
	}
	rec, env = do(t, h, "DELETE", "/echo", "", nil)
	if rec.Code != 405 {
		t.Fatalf("wrong method: %d", rec.Code)
	}
	if env.Code != "method_not_allowed" || rec.Header().Get("Allow") == "" {
		t.Fatalf("wrong method: code %q allow %q", env.Code, rec.Header().Get("Allow"))
	}
}

func TestPanicAndInternalErrorsHideDetails(t *testing.T) {
	h := stack(t, 1024)
	for _, path := range []string{"/panic", "/internal"} {
		rec, env := do(t, h, "GET", path, "", nil)
		if rec.Code != 500 || env.Code != "internal" {
			t.Fatalf("%s: %d %q", path, rec.Code, env.Code)
		}
		if strings.Contains(rec.Body.String(), "hunter2") || strings.Contains(rec.Body.String(), "boom") {
			t.Fatalf("%s leaked details: %s", path, rec.Body)
		}
	}
}

func TestRateLimitedCarriesRetryAfter(t *testing.T) {
	rec, env := do(t, stack(t, 1024), "GET", "/slow", "", nil)
	if rec.Code != 429 || env.Code != "rate_limited" || rec.Header().Get("Retry-After") != "2" {
		t.Fatalf("got %d %q Retry-After=%q", rec.Code, env.Code, rec.Header().Get("Retry-After"))
	}
}

func TestPageParsing(t *testing.T) {
	for q, want := range map[string]int{"": 50, "?page_size=1": 1, "?page_size=200": 200} {
		p, err := httpapi.ParsePage(httptest.NewRequest("GET", "/x"+q, nil))
		if err != nil || p.Size != want {
			t.Fatalf("%q: %v %v", q, p.Size, err)
		}
	}
	for _, q := range []string{"?page_size=0", "?page_size=201", "?page_size=abc", "?page_size=-1"} {
		if _, err := httpapi.ParsePage(httptest.NewRequest("GET", "/x"+q, nil)); httpapi.StatusOf(err) != 400 {
			t.Fatalf("%q accepted", q)
		}
	}
	var pos struct{ ID string }
	if _, err := httpapi.DecodeCursor("!!!not-base64", &pos); httpapi.StatusOf(err) != 400 {
		t.Fatal("forged cursor accepted")
	}
	ok, err := httpapi.DecodeCursor(httpapi.EncodeCursor(struct{ ID string }{"x"}), &pos)
	if !ok || err != nil || pos.ID != "x" {
		t.Fatalf("round trip: %v %v %v", ok, err, pos)
	}
}

func TestParsePageFrom(t *testing.T) {
	type pos struct{ ID string }
	page, after, err := httpapi.ParsePageFrom[pos](httptest.NewRequest("GET", "/x?page_size=7", nil))
	if err != nil || page.Size != 7 || after != nil {
		t.Fatalf("no cursor: %v %v %v", page, after, err)
	}
	_, after, err = httpapi.ParsePageFrom[pos](httptest.NewRequest("GET", "/x?cursor="+httpapi.EncodeCursor(pos{"k"}), nil))
	if err != nil || after == nil || after.ID != "k" {
		t.Fatalf("cursor: %v %v", after, err)
	}
	for _, q := range []string{"?cursor=!!!", "?page_size=0"} {
		if _, after, err := httpapi.ParsePageFrom[pos](httptest.NewRequest("GET", "/x"+q, nil)); httpapi.StatusOf(err) != 400 || after != nil {
			t.Fatalf("%q: %v %v", q, after, err)
		}
	}
}

// TestPostgresRestartIsUnavailable: a request caught by a Postgres restart
// (its session terminated, 57P01) is a 503 to retry, not a 500 that feeds
// the 5xx-ratio alert as a bug.
func TestPostgresRestartIsUnavailable(t *testing.T) {
	rec, env := do(t, stack(t, 1024), "GET", "/pg-restart", "", nil)
	if rec.Code != http.StatusServiceUnavailable || env.Code != apperr.CodeUnavailable {
		t.Fatalf("status %d code %q, want 503 unavailable", rec.Code, env.Code)
	}
}
