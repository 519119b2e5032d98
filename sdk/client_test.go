package sdk_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/sdk"
)

func apiCreateUser() api.CreateUserRequest {
	return api.CreateUserRequest{Username: "u", Email: "u@example.com", Password: "long enough password", Role: api.RoleUser}
}

func TestRequestShape(t *testing.T) {
	var got *http.Request
	var body string
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		got = r
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"items":[],"next_cursor":""}`)
	})
	ctx := sdk.WithRequestID(context.Background(), "my-id")
	actor := uuid.MustParse("0b5c4c1e-6a0e-4f63-9f39-4c2d2f2f5a11")
	since := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if _, err := c.AdminListAuditLogs(ctx, api.AdminListAuditLogsParams{
		PageSize: sdk.Ptr(10), Cursor: sdk.Ptr("abc"), ActorUserId: &actor,
		Action: sdk.Ptr("node.create"), Since: &since,
	}); err != nil {
		t.Fatal(err)
	}
	if got.URL.Path != "/api/v1/admin/audit-logs" || got.Method != "GET" {
		t.Fatalf("got %s %s", got.Method, got.URL.Path)
	}
	q := got.URL.Query()
	for k, v := range map[string]string{"page_size": "10", "cursor": "abc", "actor_user_id": actor.String(),
		"action": "node.create", "since": "2026-01-02T03:04:05Z"} {
		if q.Get(k) != v {
			t.Errorf("query %s = %q, want %q", k, q.Get(k), v)
		}
	}
	if q.Has("until") || q.Has("target_id") {
		t.Errorf("unset params sent: %v", q)
	}
	if got.Header.Get("Authorization") != "Bearer tok" || got.Header.Get("X-Request-ID") != "my-id" {
		t.Errorf("headers: %v", got.Header)
	}

	// A JSON body goes with its content type.
	_, _ = c.Login(context.Background(), "alice", "pw")
	if got.Header.Get("Content-Type") != "application/json" || got.Header.Get("Authorization") != "" {
		t.Errorf("login headers: %v", got.Header)
	}
	var lr api.LoginRequest
	if err := json.Unmarshal([]byte(body), &lr); err != nil || lr.Username != "alice" || lr.Password != "pw" {
		t.Errorf("login body %q", body)
	}

	// Logout without a refresh token sends no body at all.
	_ = c.Logout(context.Background(), "")
	if body != "" {
		t.Errorf("logout body %q, want none", body)
	}
}

func TestDoAddsBearerUnlessGiven(t *testing.T) {
	var auth string
	c := fake(t, func(w http.ResponseWriter, r *http.Request) { auth = r.Header.Get("Authorization") })
	resp, err := c.Do(context.Background(), "POST", "/x?y=1", strings.NewReader("{"), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if auth != "Bearer tok" {
		t.Fatalf("auth %q", auth)
	}
	resp, err = c.Do(context.Background(), "POST", "/x", nil, http.Header{"Authorization": {"Bearer forged"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if auth != "Bearer forged" {
		t.Fatalf("auth %q", auth)
	}
}

func TestReadyzReportsChecks(t *testing.T) {
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `{"status":"unavailable","checks":{"postgres":"ok","nats":"connection refused"}}`)
	})
	h, err := c.Readyz(context.Background())
	if sdk.StatusOf(err) != 503 || h.Checks == nil || (*h.Checks)["nats"] != "connection refused" {
		t.Fatalf("got %+v, %v", h, err)
	}
}

func TestRefreshingTokenSource(t *testing.T) {
	var refreshes atomic.Int32
	var lastAuth atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/auth/token/refresh":
			if r.Header.Get("Authorization") != "" {
				t.Errorf("refresh must not send a bearer token")
			}
			var rr api.RefreshRequest
			_ = json.NewDecoder(r.Body).Decode(&rr)
			n := refreshes.Add(1)
			if rr.RefreshToken != fmt.Sprintf("r%d", n-1) {
				w.WriteHeader(401)
				fmt.Fprint(w, `{"code":"unauthorized","message":"spent","correlation_id":"c"}`)
				return
			}
			json.NewEncoder(w).Encode(api.TokenPair{AccessToken: fmt.Sprintf("a%d", n), RefreshToken: fmt.Sprintf("r%d", n), TokenType: "Bearer", ExpiresIn: 900})
		default:
			lastAuth.Store(r.Header.Get("Authorization"))
			json.NewEncoder(w).Encode(api.User{Username: "alice"})
		}
	}))
	t.Cleanup(srv.Close)

	var saved []sdk.Tokens
	base := sdk.New(srv.URL)
	// Expires in 10s: inside the refresh skew, so the first call refreshes.
	src := sdk.NewRefreshingTokenSource(base, sdk.Tokens{AccessToken: "a0", RefreshToken: "r0", Expiry: time.Now().Add(10 * time.Second)},
		func(tk sdk.Tokens) error { saved = append(saved, tk); return nil })
	c := sdk.New(srv.URL, sdk.WithTokenSource(src))
	for range 3 {
		if _, err := c.Me(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if refreshes.Load() != 1 || len(saved) != 1 || saved[0].RefreshToken != "r1" || lastAuth.Load() != "Bearer a1" {
		t.Fatalf("refreshes=%d saved=%+v auth=%v", refreshes.Load(), saved, lastAuth.Load())
	}
	if d := time.Until(src.Tokens().Expiry); d < 890*time.Second || d > 900*time.Second {
		t.Fatalf("expiry in %s", d)
	}

	// A spent refresh token surfaces the server's 401.
	dead := sdk.NewRefreshingTokenSource(base, sdk.Tokens{AccessToken: "x", RefreshToken: "r0", Expiry: time.Now().Add(-time.Minute)}, nil)
	_, err := sdk.New(srv.URL, sdk.WithTokenSource(dead)).Me(context.Background())
	if sdk.StatusOf(err) != 401 {
		t.Fatalf("want 401 from refresh, got %v", err)
	}
}

func TestPaging(t *testing.T) {
	c := fake(t, func(w http.ResponseWriter, r *http.Request) {
		next := map[string]string{"": "p2", "p2": "p3", "p3": ""}[r.URL.Query().Get("cursor")]
		fmt.Fprintf(w, `{"items":[{"id":"sku-%s"}],"next_cursor":%q}`, r.URL.Query().Get("cursor"), next)
	})
	skus, err := sdk.Collect(context.Background(), c.SKUPages(api.ListSkusParams{}))
	if err != nil || len(skus) != 3 || skus[2].Id != "sku-p3" {
		t.Fatalf("got %+v, %v", skus, err)
	}

	loop := fake(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"items":[],"next_cursor":"same"}`)
	})
	if _, err := sdk.Collect(context.Background(), loop.NodePages(api.ListNodesParams{})); err == nil {
		t.Fatal("a repeated cursor must end the walk with an error")
	}
}
