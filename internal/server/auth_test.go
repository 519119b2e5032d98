package server_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/sdk"
)

func TestLoginRefreshLogout(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	u := env.NewUser("user")
	anon := env.Client("")

	pair, err := anon.Login(ctx, u.Username, servertest.Password)
	if err != nil {
		t.Fatal(err)
	}
	if pair.TokenType != "Bearer" || pair.ExpiresIn < 60 || pair.ExpiresIn > 3600 || pair.RefreshToken == "" {
		t.Fatalf("token pair: %+v", pair)
	}
	me, err := env.Client(pair.AccessToken).Me(ctx)
	if err != nil || me.Id != u.Id || me.Role != api.RoleUser {
		t.Fatalf("me: %+v %v", me, err)
	}

	// Refresh rotates: the new pair works, the old refresh token is spent.
	next, err := anon.Refresh(ctx, pair.RefreshToken)
	if err != nil || next.RefreshToken == pair.RefreshToken {
		t.Fatalf("refresh: %v", err)
	}
	if _, err := env.Client(next.AccessToken).Me(ctx); err != nil {
		t.Fatal(err)
	}
	// Within the grace window the spent token gets the same successor back.
	again, err := anon.Refresh(ctx, pair.RefreshToken)
	if err != nil || again.RefreshToken != next.RefreshToken {
		t.Fatalf("replay within grace: %v", err)
	}
	// Once the successor is spent, reusing the old token revokes the whole
	// family, the newest token and the access tokens included.
	last, err := anon.Refresh(ctx, next.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	_, err = anon.Refresh(ctx, pair.RefreshToken)
	wantErr(t, err, 401, "refresh_token_reused")
	_, err = anon.Refresh(ctx, last.RefreshToken)
	wantErr(t, err, 401, "")
	_, err = env.Client(last.AccessToken).Me(ctx)
	wantErr(t, err, 401, "token_revoked")

	// Logout denies the access token and revokes the refresh token.
	third, err := anon.Login(ctx, u.Username, servertest.Password)
	if err != nil {
		t.Fatal(err)
	}
	c := env.Client(third.AccessToken)
	if err := c.Logout(ctx, third.RefreshToken); err != nil {
		t.Fatal(err)
	}
	_, err = c.Me(ctx)
	wantErr(t, err, 401, "token_revoked")
	_, err = anon.Refresh(ctx, third.RefreshToken)
	wantErr(t, err, 401, "")
}

func TestLoginFailuresLookAlikeAndAreAudited(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	u := env.NewUser("user")
	anon := env.Client("")
	_, err := anon.Login(ctx, u.Username, "wrong password entirely")
	wrong := wantErr(t, err, 401, "invalid_credentials")
	_, err = anon.Login(ctx, "nobody-here", "wrong password entirely")
	unknown := wantErr(t, err, 401, "invalid_credentials")
	if wrong.Message != unknown.Message {
		t.Fatalf("unknown user distinguishable: %q vs %q", wrong.Message, unknown.Message)
	}
	admin, _ := env.As("admin")
	logs, err := admin.AdminListAuditLogs(ctx, api.AdminListAuditLogsParams{Action: ptr("auth.login_failed")})
	if err != nil {
		t.Fatal(err)
	}
	if len(logs.Items) != 2 {
		t.Fatalf("want 2 failed-login rows, got %d", len(logs.Items))
	}
	for _, row := range logs.Items {
		if row.CorrelationId == "" || row.ClientIp == nil || *row.ClientIp != "127.0.0.1" {
			t.Fatalf("row lacks correlation/client ip: %+v", row)
		}
		if _, leaked := row.Metadata["password"]; leaked {
			t.Fatal("password in audit metadata")
		}
	}
}

func TestLoginRateLimitPerUsername(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, func(c *config.Server) { c.LoginUserFailures = 3 })
	u := env.NewUser("user")
	anon := env.Client("")
	for i := 0; i < 3; i++ {
		_, err := anon.Login(ctx, u.Username, "not the password at all")
		wantErr(t, err, 401, "invalid_credentials")
	}
	// Locked now, even with the right password.
	_, err := anon.Login(ctx, u.Username, servertest.Password)
	e := wantErr(t, err, 429, "rate_limited")
	if e.RetryAfter <= 0 || e.RetryAfter > 15*time.Minute+time.Second {
		t.Fatalf("Retry-After %v", e.RetryAfter)
	}
	// Another user is not affected.
	other := env.NewUser("user")
	if _, err := anon.Login(ctx, other.Username, servertest.Password); err != nil {
		t.Fatal(err)
	}
}

func TestLoginRateLimitPerIP(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, func(c *config.Server) { c.LoginIPAttempts = 4 })
	u := env.NewUser("user")
	anon := env.Client("")
	for i := 0; i < 4; i++ {
		if _, err := anon.Login(ctx, u.Username, servertest.Password); err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	_, err := anon.Login(ctx, u.Username, servertest.Password)
	wantErr(t, err, 429, "rate_limited")
}

func TestAPIRateLimitPerUser(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, func(c *config.Server) { c.APIRate = 0.5; c.APIBurst = 3 })
	c, _ := env.As("user")
	for i := 0; i < 3; i++ {
		if _, err := c.Me(ctx); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	_, err := c.Me(ctx)
	e := wantErr(t, err, 429, "rate_limited")
	if e.RetryAfter < time.Second {
		t.Fatalf("Retry-After %v", e.RetryAfter)
	}
	// Buckets are per user.
	other, _ := env.As("user")
	if _, err := other.Me(ctx); err != nil {
		t.Fatal(err)
	}
}

// Concurrent refreshes of one token mint one successor, which every
// submission gets back (the reuse grace window); none signs the user out.
func TestConcurrentRefreshMintsOneSuccessor(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	u := env.NewUser("user")
	_, pair := env.Login(u)
	anon := env.Client("")
	var wg sync.WaitGroup
	var mu sync.Mutex
	successors := map[string]int{}
	for range 8 {
		wg.Go(func() {
			next, err := anon.Refresh(ctx, pair.RefreshToken)
			if err != nil {
				t.Errorf("refresh: %v", err)
				return
			}
			mu.Lock()
			successors[next.RefreshToken]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(successors) != 1 {
		t.Fatalf("%d successors minted for one token, want 1", len(successors))
	}
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	u := env.NewUser("user")
	c, current := env.Login(u)
	_, other := env.Login(u) // a second session elsewhere

	wantErr(t, c.ChangePassword(ctx, "not my password at all", "a brand new passphrase"), 401, "invalid_credentials")
	wantErr(t, c.ChangePassword(ctx, servertest.Password, "short"), 400, "weak_password")
	if err := c.ChangePassword(ctx, servertest.Password, "a brand new passphrase"); err != nil {
		t.Fatal(err)
	}
	// The other session's refresh token is revoked; this one's is kept.
	_, err := env.Client("").Refresh(ctx, other.RefreshToken)
	wantErr(t, err, 401, "")
	if _, err := env.Client("").Refresh(ctx, current.RefreshToken); err != nil {
		t.Fatalf("current session lost: %v", err)
	}
	if _, err := env.Client("").Login(ctx, u.Username, servertest.Password); err == nil {
		t.Fatal("old password still works")
	}
	if _, err := env.Client("").Login(ctx, u.Username, "a brand new passphrase"); err != nil {
		t.Fatal(err)
	}
}

// TestForgedTokensAreRefused runs the JWT attack set through the HTTP
// stack; package auth tests each one in depth.
func TestForgedTokensAreRefused(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	u := env.NewUser("user")
	_, pair := env.Login(u)
	parts := strings.Split(pair.AccessToken, ".")
	if len(parts) != 3 {
		t.Fatalf("access token is not a JWT: %q", pair.AccessToken)
	}
	hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	enc := base64.RawURLEncoding.EncodeToString

	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	kid := jwtKid(t, pair.AccessToken)
	claims := jwt.MapClaims{"iss": env.Config.Issuer, "aud": env.Config.Audience, "sub": u.Id.String(),
		"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(), "jti": "x", "role": "admin", "username": u.Username}
	foreign := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	foreign.Header["kid"] = kid
	foreignSigned, _ := foreign.SignedString(otherKey)

	none := enc([]byte(`{"alg":"none","typ":"JWT","kid":"`+kid+`"}`)) + "." + parts[1] + "."
	var body map[string]any
	if err := json.Unmarshal(payload, &body); err != nil {
		t.Fatal(err)
	}
	body["role"] = "admin"
	forgedPayload, _ := json.Marshal(body)
	tampered := parts[0] + "." + enc(forgedPayload) + "." + parts[2]
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	hs.Header["kid"] = kid
	hsSigned, _ := hs.SignedString(hdr) // any bytes an attacker can see

	for name, tok := range map[string]string{
		"alg none": none, "tampered payload": tampered, "foreign key with known kid": foreignSigned,
		"HS256 confusion": hsSigned, "garbage": "not.a.jwt", "empty-ish": "a",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := env.Client(tok).Me(ctx)
			wantErr(t, err, 401, "")
		})
	}
	t.Run("no bearer", func(t *testing.T) {
		status, body, _ := raw(t, env.Client(""), "GET", "/api/v1/users/me", "", http.Header{"Authorization": {"Basic Zm9vOmJhcg=="}})
		if status != 401 || body["code"] == nil {
			t.Fatalf("got %d %v", status, body)
		}
	})
}

func jwtKid(t *testing.T, token string) string {
	t.Helper()
	parsed, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := parsed.Header["kid"].(string)
	if kid == "" {
		t.Fatal("access token has no kid")
	}
	return kid
}

func TestJWKSPublishesTheSigningKey(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	u := env.NewUser("user")
	_, pair := env.Login(u)
	set, err := env.Client("").JWKS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kid := jwtKid(t, pair.AccessToken)
	found := false
	for _, k := range set.Keys {
		if k.Kid == kid && k.Alg == "EdDSA" && k.Crv == "Ed25519" && k.X != "" {
			found = true
		}
	}
	if !found {
		t.Fatalf("kid %s not in JWKS %+v", kid, set)
	}
}

func ptr[T any](v T) *T { return &v }

func TestAuthRoutesRefuseHostileBodies(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	u := env.NewUser("user")
	c, _ := env.Login(u)
	anon := env.Client("")
	big := `{"username":"` + strings.Repeat("a", 2<<20) + `","password":"x"}`
	for _, r := range []struct {
		client     *sdk.Client
		path, body string
		status     int
		code       string
	}{
		{anon, "/api/v1/auth/personal/login", `{"username":"a","password":"b","otp":1}`, 400, "invalid_request"},
		{anon, "/api/v1/auth/personal/login", `{"username":["a"],"password":"b"}`, 400, "invalid_request"},
		{anon, "/api/v1/auth/personal/login", `{"username":"","password":""}`, 400, "invalid_request"},
		{anon, "/api/v1/auth/personal/login", big, 413, "payload_too_large"},
		{anon, "/api/v1/auth/token/refresh", `{"refresh_token":""}`, 400, "invalid_request"},
		{anon, "/api/v1/auth/token/refresh", `{"refresh_token":"gpr_forged"}`, 401, ""},
		{anon, "/api/v1/auth/token/refresh", `not json`, 400, "invalid_request"},
		{c, "/api/v1/auth/logout", `{"refresh_token":1}`, 400, "invalid_request"},
		{c, "/api/v1/users/me/password", `{"current_password":"x"}`, 400, "invalid_request"},
		{c, "/api/v1/users/me/password", `{"current_password":"x","new_password":"y"} {}`, 400, "invalid_request"},
	} {
		status, body, _ := raw(t, r.client, "POST", r.path, r.body, nil)
		if status != r.status || (r.code != "" && body["code"] != r.code) {
			t.Errorf("POST %s %.40q: got %d %v, want %d %s", r.path, r.body, status, body["code"], r.status, r.code)
		}
	}
}

func TestLogoutWithoutBodyAndWithAnotherUsersToken(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	alice, bob := env.NewUser("user"), env.NewUser("user")
	ca, _ := env.Login(alice)
	_, bobPair := env.Login(bob)
	// Alice presents Bob's refresh token: her own session ends, Bob's does not.
	status, _, _ := raw(t, ca, "POST", "/api/v1/auth/logout", `{"refresh_token":"`+bobPair.RefreshToken+`"}`, nil)
	if status != 204 {
		t.Fatalf("logout: %d", status)
	}
	if _, err := env.Client("").Refresh(ctx, bobPair.RefreshToken); err != nil {
		t.Fatalf("bob's session was revoked by alice: %v", err)
	}
	// A logout without a body is fine.
	cb, _ := env.Login(bob)
	status, _, _ = raw(t, cb, "POST", "/api/v1/auth/logout", "", nil)
	if status != 204 {
		t.Fatalf("logout without body: %d", status)
	}
	_, err := cb.Me(ctx)
	wantErr(t, err, 401, "token_revoked")
}
