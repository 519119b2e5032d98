package server_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/auth"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/sdk"
)

// statusErr turns a raw answer into an *sdk.Error, nil for a 2xx.
func statusErr(code int, body map[string]any) error {
	if code >= 200 && code < 300 {
		return nil
	}
	c, _ := body["code"].(string)
	return &sdk.Error{Status: code, Code: c}
}

// newToken creates an API token for the session c with scopes, valid a day.
func newToken(t *testing.T, e *servertest.Env, c *sdk.Client, scopes ...api.APITokenScope) (api.CreatedAPIToken, *sdk.Client) {
	t.Helper()
	tok, err := c.CreateAPIToken(ctx, api.CreateAPITokenRequest{
		Name: "ci " + strings.Join(scopeStrings(scopes), "+"), ExpiresAt: time.Now().Add(24 * time.Hour), Scopes: scopes,
	})
	if err != nil {
		t.Fatalf("create token %v: %v", scopes, err)
	}
	if !strings.HasPrefix(tok.Token, auth.APITokenPrefix) || len(tok.Token) != len(auth.APITokenPrefix)+43 {
		t.Fatalf("token secret %q is not gpat_ and 43 base64url characters", tok.Token)
	}
	return tok, e.Client(tok.Token)
}

func scopeStrings(in []api.APITokenScope) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = string(s)
	}
	return out
}

// wantAPIErr fails unless err is an API error of status and code ("" for
// no error expected when status is 0).
func wantAPIErr(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	if status == 0 {
		if err != nil {
			t.Errorf("%s: %v, want success", what, err)
		}
		return
	}
	e, ok := sdk.AsError(err)
	if !ok || e.Status != status || (code != "" && e.Code != code) {
		t.Errorf("%s: err %v, want %d %s", what, err, status, code)
	}
}

func TestAPITokenScopes(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	session, _ := e.As("user")
	readTok, read := newToken(t, e, session, api.APITokenScopeRead)
	billingTok, billing := newToken(t, e, session, api.APITokenScopeBilling)
	allocsTok, allocs := newToken(t, e, session, api.APITokenScopeAllocations)
	const denied = http.StatusForbidden
	const scope = auth.CodeInsufficientScope

	calls := []struct {
		name string
		call func(c *sdk.Client) error
		// want per token: read, billing, allocations (0: allowed).
		read, billing, allocs int
	}{
		{"GET /users/me", func(c *sdk.Client) error { _, err := c.Me(ctx); return err }, 0, denied, denied},
		{"GET /skus", func(c *sdk.Client) error { _, err := c.ListSKUs(ctx, api.ListSkusParams{}); return err }, 0, denied, denied},
		{"GET /allocations", func(c *sdk.Client) error {
			_, err := c.ListAllocations(ctx, api.ListAllocationsParams{})
			return err
		}, 0, denied, 0},
		{"GET /billing/balance", func(c *sdk.Client) error { _, err := c.Balance(ctx); return err }, denied, 0, denied},
		{"GET /users/me/tokens", func(c *sdk.Client) error { _, err := c.ListAPITokens(ctx); return err }, 0, denied, denied},
		// Creating an allocation with no SKU is a 400 once past the scope
		// check; a token without the scope never gets that far.
		{"POST /allocations", func(c *sdk.Client) error {
			_, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{}, uuid.NewString())
			return err
		}, denied, denied, -1},
		// An unknown allocation is a 404 once past the scope check.
		{"POST /allocations/{id}/terminal-token", func(c *sdk.Client) error {
			_, err := c.MintTerminalToken(ctx, uuid.New())
			return err
		}, denied, denied, -1},
		{"POST /allocations/{id}/apps/{port}/ticket", func(c *sdk.Client) error {
			code, body, _ := raw(t, c, "POST", "/api/v1/allocations/"+uuid.NewString()+"/apps/jupyter/ticket", "", nil)
			return statusErr(code, body)
		}, denied, denied, -1},
		{"POST /notifications/read (sessions only)", func(c *sdk.Client) error {
			code, body, _ := raw(t, c, "POST", "/api/v1/notifications/read", `{"all":true}`, nil)
			return statusErr(code, body)
		}, denied, denied, denied},
		{"POST /users/me/tokens", func(c *sdk.Client) error {
			_, err := c.CreateAPIToken(ctx, api.CreateAPITokenRequest{Name: "x", ExpiresAt: time.Now().Add(time.Hour),
				Scopes: []api.APITokenScope{api.APITokenScopeRead}})
			return err
		}, denied, denied, denied},
		{"GET /admin/users", func(c *sdk.Client) error {
			_, err := c.AdminListUsers(ctx, api.AdminListUsersParams{})
			return err
		}, denied, denied, denied},
	}
	for _, tc := range calls {
		for _, tok := range []struct {
			name string
			c    *sdk.Client
			want int
		}{{"read", read, tc.read}, {"billing", billing, tc.billing}, {"allocations", allocs, tc.allocs}} {
			err := tc.call(tok.c)
			switch tok.want {
			case 0:
				wantAPIErr(t, tc.name+" with "+tok.name, err, 0, "")
			case -1: // past the scope check: anything but a 401 or 403
				if e, ok := sdk.AsError(err); ok && (e.Status == 401 || e.Status == 403) {
					t.Errorf("%s with %s: %v, want past the scope check", tc.name, tok.name, err)
				}
			default:
				wantAPIErr(t, tc.name+" with "+tok.name, err, tok.want, scope)
			}
		}
	}
	// The notification socket checks the scope before the upgrade (a plain
	// GET past the check is 426, which the contract does not list, so this
	// goes around the contract-checking client).
	for tok, want := range map[string]int{readTok.Token: http.StatusUpgradeRequired, billingTok.Token: http.StatusForbidden} {
		req, _ := http.NewRequest("GET", e.URL+"/ws/notifications", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET /ws/notifications: %d, want %d", resp.StatusCode, want)
		}
	}
	// So does an app reached with a bearer instead of a ticket: without
	// the allocations scope it is 403; with it, the unknown app is 404.
	appURL := e.URL + "/apps/" + uuid.NewString() + "/jupyter/"
	for tok, want := range map[string]int{readTok.Token: http.StatusForbidden, allocsTok.Token: http.StatusNotFound} {
		req, _ := http.NewRequest("GET", appURL, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET /apps/… with a bearer: %d, want %d", resp.StatusCode, want)
		}
	}
	// The session itself keeps every right.
	if _, err := session.Balance(ctx); err != nil {
		t.Errorf("session lost billing: %v", err)
	}
}

func TestAPITokenAdminScopeNeedsAnAdmin(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	root, _ := e.As("admin")
	adminSession, admin := e.As("admin")
	userSession, _ := e.As("user")

	_, err := userSession.CreateAPIToken(ctx, api.CreateAPITokenRequest{Name: "a", ExpiresAt: time.Now().Add(time.Hour),
		Scopes: []api.APITokenScope{api.APITokenScopeAdmin}})
	wantAPIErr(t, "non-admin creating an admin token", err, http.StatusForbidden, auth.CodeInsufficientScope)

	_, adminTok := newToken(t, e, adminSession, api.APITokenScopeAdmin)
	_, readTok := newToken(t, e, adminSession, api.APITokenScopeRead)
	_, err = adminTok.AdminListUsers(ctx, api.AdminListUsersParams{})
	wantAPIErr(t, "admin token of an admin", err, 0, "")
	_, err = readTok.AdminListUsers(ctx, api.AdminListUsersParams{})
	wantAPIErr(t, "read token of an admin on an admin route", err, http.StatusForbidden, auth.CodeInsufficientScope)

	// Demoted, the admin's admin token is an admin token of a non-admin.
	role := api.RoleUser
	if _, err := root.AdminUpdateUser(ctx, admin.Id, api.UpdateUserRequest{Role: &role}); err != nil {
		t.Fatal(err)
	}
	_, err = adminTok.AdminListUsers(ctx, api.AdminListUsersParams{})
	wantAPIErr(t, "admin token of a non-admin", err, http.StatusForbidden, "")
	_, err = adminTok.AdminGetUser(ctx, admin.Id)
	wantAPIErr(t, "admin token of a non-admin, GET one user", err, http.StatusForbidden, "")

	// A suspended user's tokens are refused from the next request.
	if _, err := root.AdminSuspendUser(ctx, admin.Id, "test", false); err != nil {
		t.Fatal(err)
	}
	_, err = readTok.Me(ctx)
	wantAPIErr(t, "token of a suspended user", err, http.StatusForbidden, auth.CodeAccountSuspended)
}

func TestAPITokenRevokedIsRefusedOnTheOtherReplicaAtOnce(t *testing.T) {
	t.Parallel()
	a := servertest.Start(t, func(c *config.Server) { c.RedisURL = "redis://127.0.0.1:6379/0" })
	b := servertest.StartReplica(t, a, func(c *config.Server) { c.Roles = "api" })
	u := a.NewUser("user")
	sessionA, _ := a.Login(u)
	tok, _ := newToken(t, a, sessionA, api.APITokenScopeRead)
	onB := b.Client(tok.Token)
	if _, err := onB.Me(ctx); err != nil {
		t.Fatalf("token on replica b: %v", err)
	}
	if err := sessionA.RevokeAPIToken(ctx, tok.Id); err != nil {
		t.Fatal(err)
	}
	// The very next request, no waiting.
	_, err := onB.Me(ctx)
	wantAPIErr(t, "revoked token on replica b", err, http.StatusUnauthorized, auth.CodeTokenRevoked)
	err = sessionA.RevokeAPIToken(ctx, tok.Id)
	wantAPIErr(t, "revoking twice", err, http.StatusNotFound, "")

	l, err := sessionA.ListAPITokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 0 {
		t.Errorf("revoked token still listed: %+v", l.Items)
	}
}

func TestAPITokenExpiredAndLastUse(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	session, _ := e.As("user")
	_, err := session.CreateAPIToken(ctx, api.CreateAPITokenRequest{Name: "long", ExpiresAt: time.Now().Add(400 * 24 * time.Hour),
		Scopes: []api.APITokenScope{api.APITokenScopeRead}})
	wantAPIErr(t, "a token of 400 days", err, http.StatusBadRequest, "")
	_, err = session.CreateAPIToken(ctx, api.CreateAPITokenRequest{Name: "past", ExpiresAt: time.Now().Add(-time.Minute),
		Scopes: []api.APITokenScope{api.APITokenScopeRead}})
	wantAPIErr(t, "a token expired at birth", err, http.StatusBadRequest, "")

	tok, c := newToken(t, e, session, api.APITokenScopeRead)
	if _, err := c.Me(ctx); err != nil {
		t.Fatal(err)
	}
	l, err := session.ListAPITokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 1 || l.Items[0].LastUsedAt == nil || l.Items[0].LastUsedIp == nil || *l.Items[0].LastUsedIp == "" {
		t.Fatalf("last use not recorded: %+v", l.Items)
	}
	if _, err := e.App.Store.Pool().Exec(ctx, `UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, tok.Id); err != nil {
		t.Fatal(err)
	}
	_, err = c.Me(ctx)
	wantAPIErr(t, "expired token", err, http.StatusUnauthorized, auth.CodeTokenExpired)
	_, err = e.Client(auth.APITokenPrefix + strings.Repeat("A", 43)).Me(ctx)
	wantAPIErr(t, "unknown token", err, http.StatusUnauthorized, auth.CodeInvalidToken)
}

func TestAPITokenSharesTheUsersRateLimit(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t, func(c *config.Server) {
		c.RedisURL = "redis://127.0.0.1:6379/0"
		c.APIRate, c.APIBurst = 0.01, 4
	})
	session, _ := e.As("user")
	_, tok := newToken(t, e, session, api.APITokenScopeRead) // 1
	for i := range 3 {                                       // 2, 3, 4
		if _, err := session.Me(ctx); err != nil {
			t.Fatalf("session request %d: %v", i, err)
		}
	}
	_, err := tok.Me(ctx)
	wantAPIErr(t, "token after the user's burst", err, http.StatusTooManyRequests, "")
}

// lockedBuffer collects log output from every goroutine of the server.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestAPITokenSecretNeverInLogsOrAudit(t *testing.T) {
	t.Parallel()
	e := servertest.Start(t)
	var logs lockedBuffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(prev) })

	session, _ := e.As("user")
	tok, c := newToken(t, e, session, api.APITokenScopeRead)
	if _, err := c.Me(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Balance(ctx); err == nil {
		t.Fatal("read token read the balance")
	}
	if err := session.RevokeAPIToken(ctx, tok.Id); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Me(ctx); err == nil {
		t.Fatal("revoked token still works")
	}

	if !strings.Contains(logs.String(), "http request") {
		t.Fatal("captured no access log; the check below would prove nothing")
	}
	secretPart := strings.TrimPrefix(tok.Token, auth.APITokenPrefix)
	if strings.Contains(logs.String(), secretPart) {
		t.Error("the token's secret is in the logs")
	}
	rows, err := e.App.Store.Pool().Query(context.Background(),
		`SELECT action, metadata::text FROM audit_logs WHERE target_type = 'api_token' AND target_id = $1 ORDER BY id`, tok.Id.String())
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var actions []string
	for rows.Next() {
		var action, meta string
		if err := rows.Scan(&action, &meta); err != nil {
			t.Fatal(err)
		}
		actions = append(actions, action)
		if strings.Contains(meta, secretPart) {
			t.Errorf("audit row %s holds the secret", action)
		}
	}
	if strings.Join(actions, ",") != "api_token.create,api_token.revoke" {
		t.Errorf("audit actions %v, want create then revoke", actions)
	}
	var stored int
	if err := e.App.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM api_tokens WHERE position($1::bytea in token_hash) > 0`,
		[]byte(tok.Token)).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != 0 {
		t.Error("the secret is stored in the clear")
	}
}
