package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gpuaas/gpuaas/sdk"
)

// fake serves one canned answer; these tests check the client's parsing,
// not the server, so a fake is the right peer here.
func fake(t *testing.T, h http.HandlerFunc) *sdk.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return sdk.New(srv.URL, sdk.WithAccessToken("tok"))
}

func TestErrorFromEnvelope(t *testing.T) {
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-ID", "header-id")
		w.WriteHeader(http.StatusConflict)
		fmt.Fprint(w, `{"code":"duplicate_hostname","message":"hostname taken","correlation_id":"body-id","details":{"field":"hostname"}}`)
	})
	_, err := c.Me(context.Background())
	e, ok := sdk.AsError(err)
	if !ok {
		t.Fatalf("want *sdk.Error, got %T %v", err, err)
	}
	want := sdk.Error{Status: 409, Code: "duplicate_hostname", Message: "hostname taken", CorrelationID: "body-id",
		Details: map[string]any{"field": "hostname"}}
	if !reflect.DeepEqual(*e, want) {
		t.Fatalf("got %+v, want %+v", *e, want)
	}
	if !sdk.HasCode(err, "duplicate_hostname") || sdk.StatusOf(err) != 409 {
		t.Fatalf("HasCode/StatusOf disagree with %+v", e)
	}
	for _, part := range []string{"duplicate_hostname", "409", "hostname taken", "body-id"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("Error() = %q, missing %q", err.Error(), part)
		}
	}
}

func TestErrorWithoutEnvelope(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		body    string
		code    string
		message string
	}{
		{"html from a proxy", 502, "<html><body>\n<h1>Bad Gateway</h1></body></html>", "unavailable", "<html><body> <h1>Bad Gateway</h1></body></html>"},
		{"empty 404", 404, "", "not_found", "Not Found"},
		{"json without code", 400, `{"error":"nope"}`, "invalid_request", `{"error":"nope"}`},
		{"plain 500", 500, "boom", "internal", "boom"},
		{"odd status", 418, "teapot", "http_418", "teapot"},
		{"truncated json", 401, `{"code":"unauth`, "unauthorized", `{"code":"unauth`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := fake(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Request-ID", "rid-1")
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			})
			_, err := c.Me(context.Background())
			e, ok := sdk.AsError(err)
			if !ok {
				t.Fatalf("want *sdk.Error, got %T %v", err, err)
			}
			if e.Status != tc.status || e.Code != tc.code || e.Message != tc.message || e.CorrelationID != "rid-1" {
				t.Fatalf("got %+v", *e)
			}
		})
	}
}

func TestErrorLongBodyIsCut(t *testing.T) {
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		fmt.Fprint(w, strings.Repeat("é", 10_000))
	})
	_, err := c.Me(context.Background())
	e, _ := sdk.AsError(err)
	if e == nil || len(e.Message) > 210 || !strings.HasSuffix(e.Message, "…") {
		t.Fatalf("message not cut: %d bytes", len(e.Message))
	}
}

func TestRetryAfter(t *testing.T) {
	cases := []struct {
		header string
		want   time.Duration
	}{
		{"7", 7 * time.Second},
		{"", 0},
		{"-3", 0},
		{"soon", 0},
		{time.Now().Add(time.Hour).UTC().Format(http.TimeFormat), time.Hour},
	}
	for _, tc := range cases {
		c := fake(t, func(w http.ResponseWriter, r *http.Request) {
			if tc.header != "" {
				w.Header().Set("Retry-After", tc.header)
			}
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"code":"rate_limited","message":"slow down","correlation_id":"x"}`)
		})
		_, err := c.Login(context.Background(), "a", "b")
		e, _ := sdk.AsError(err)
		if e == nil || e.Code != "rate_limited" {
			t.Fatalf("Retry-After %q: got %v", tc.header, err)
		}
		if d := e.RetryAfter - tc.want; d < -2*time.Second || d > 2*time.Second {
			t.Errorf("Retry-After %q: got %s, want %s", tc.header, e.RetryAfter, tc.want)
		}
	}
}

func TestUnexpectedSuccessStatusIsAnError(t *testing.T) {
	// AdminCreateUser wants 201; a 200 means something in between is wrong.
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, `{}`)
	})
	_, err := c.AdminCreateUser(context.Background(), apiCreateUser())
	if sdk.StatusOf(err) != 200 {
		t.Fatalf("want an *Error with status 200, got %v", err)
	}
}

func TestTransportErrorIsNotAnAPIError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	_, err := sdk.New(srv.URL).Healthz(context.Background())
	if err == nil {
		t.Fatal("want an error from a closed server")
	}
	if _, ok := sdk.AsError(err); ok {
		t.Fatalf("a transport error must not look like an API answer: %v", err)
	}
}

func TestNoCredentials(t *testing.T) {
	called := false
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	t.Cleanup(srv.Close)
	_, err := sdk.New(srv.URL).Me(context.Background())
	if !errors.Is(err, sdk.ErrNoCredentials) || called {
		t.Fatalf("got %v (server called: %v)", err, called)
	}
}
