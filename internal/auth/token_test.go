package auth_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/auth"
)

// forge signs claims with method and key, setting kid unless it is "".
func forge(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("forge %s: %v", method.Alg(), err)
	}
	return s
}

func TestAuthenticateRefusesForgedTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user(t, "alice")
	ctx := context.Background()
	kid, priv := e.activeKey(t)
	pub := priv.Public().(ed25519.PublicKey)
	now := e.clock.Now()

	claims := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{
			"iss": testIssuer, "aud": testAudience, "sub": u.ID.String(),
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
			"jti": "forged-jti", "username": "alice", "role": "user",
			"sid": "7f1c6a3e-1f7e-4d7e-9a55-1b1b1b1b1b1b",
		}
		if edit != nil {
			edit(c)
		}
		return c
	}

	// Control: with the real key and correct claims the forger succeeds, so
	// each refusal below is for the one thing that case changes.
	if _, err := e.svc.Authenticate(ctx, forge(t, jwt.SigningMethodEdDSA, priv, kid, claims(nil))); err != nil {
		t.Fatalf("control token refused: %v", err)
	}

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	jwks, _ := e.svc.JWKS(ctx)

	valid := e.login(t, "alice").AccessToken
	parts := strings.Split(valid, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var m map[string]any
	_ = json.Unmarshal(payload, &m)
	m["role"] = "admin"
	evil, _ := json.Marshal(m)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(evil) + "." + parts[2]

	cases := map[string]string{
		"alg none":             forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid, claims(nil)),
		"HS256 with raw pub":   forge(t, jwt.SigningMethodHS256, []byte(pub), kid, claims(nil)),
		"HS256 with jwk x":     forge(t, jwt.SigningMethodHS256, []byte(jwks.Keys[0].X), kid, claims(nil)),
		"RS256":                forge(t, jwt.SigningMethodRS256, rsaKey, kid, claims(nil)),
		"wrong audience":       forge(t, jwt.SigningMethodEdDSA, priv, kid, claims(func(c jwt.MapClaims) { c["aud"] = "some-other-api" })),
		"audience list other":  forge(t, jwt.SigningMethodEdDSA, priv, kid, claims(func(c jwt.MapClaims) { c["aud"] = []string{"some-other-api"} })),
		"no audience":          forge(t, jwt.SigningMethodEdDSA, priv, kid, claims(func(c jwt.MapClaims) { delete(c, "aud") })),
		"wrong issuer":         forge(t, jwt.SigningMethodEdDSA, priv, kid, claims(func(c jwt.MapClaims) { c["iss"] = "https://evil.test" })),
		"no issuer":            forge(t, jwt.SigningMethodEdDSA, priv, kid, claims(func(c jwt.MapClaims) { delete(c, "iss") })),
		"missing exp":          forge(t, jwt.SigningMethodEdDSA, priv, kid, claims(func(c jwt.MapClaims) { delete(c, "exp") })),
		"not yet valid":        forge(t, jwt.SigningMethodEdDSA, priv, kid, claims(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() })),
		"issued in the future": forge(t, jwt.SigningMethodEdDSA, priv, kid, claims(func(c jwt.MapClaims) { c["iat"] = now.Add(time.Hour).Unix() })),
		"unknown kid":          forge(t, jwt.SigningMethodEdDSA, priv, "no-such-kid", claims(nil)),
		"missing kid":          forge(t, jwt.SigningMethodEdDSA, priv, "", claims(nil)),
		"other key, known kid": forge(t, jwt.SigningMethodEdDSA, otherPriv, kid, claims(nil)),
		"bad subject":          forge(t, jwt.SigningMethodEdDSA, priv, kid, claims(func(c jwt.MapClaims) { c["sub"] = "alice" })),
		"unknown role":         forge(t, jwt.SigningMethodEdDSA, priv, kid, claims(func(c jwt.MapClaims) { c["role"] = "root" })),
		"tampered payload":     tampered,
		"truncated signature":  valid[:len(valid)-4],
		"garbage":              "not.a.jwt",
		"empty":                "",
	}
	for name, tok := range cases {
		_, err := e.svc.Authenticate(ctx, tok)
		ae, ok := apperr.As(err)
		if !ok || ae.Kind != apperr.KindUnauthorized || ae.Code != auth.CodeInvalidToken {
			t.Errorf("%s: err = %v, want 401 invalid_token", name, err)
		}
	}
}

func TestAuthenticateExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "alice")
	ctx := context.Background()
	tok := e.login(t, "alice").AccessToken

	e.clock.Advance(15*time.Minute + 20*time.Second) // within the 30s leeway
	if _, err := e.svc.Authenticate(ctx, tok); err != nil {
		t.Fatalf("within leeway: %v", err)
	}
	e.clock.Advance(11 * time.Second)
	_, err := e.svc.Authenticate(ctx, tok)
	wantCode(t, err, auth.CodeTokenExpired)
}

func TestDenyListFailsOpen(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "alice")
	ctx := context.Background()
	tok := e.login(t, "alice").AccessToken

	reg := prometheus.NewRegistry()
	outage := e.replica(t, downStore(t), e.master, reg)
	p, err := outage.Authenticate(ctx, tok)
	if err != nil {
		t.Fatalf("authenticate with the deny-list down: %v", err)
	}
	if got := metric(t, reg, "gpuaas_kv_fail_open_total", "op", "denylist"); got != 1 {
		t.Fatalf("fail_open{denylist} = %v, want 1", got)
	}
	// Logout still revokes the session durably, and counts the missed flag.
	pair := e.login(t, "alice")
	p, _ = outage.Authenticate(ctx, pair.AccessToken)
	if err := outage.Logout(ctx, p, pair.RefreshToken); err != nil {
		t.Fatalf("logout with kv down: %v", err)
	}
	_, err = e.svc.Refresh(ctx, pair.RefreshToken)
	wantCode(t, err, auth.CodeInvalidToken)
	// 1 check above + 1 check of pair + the token's and the session's flags.
	if got := metric(t, reg, "gpuaas_kv_fail_open_total", "op", "denylist"); got != 4 {
		t.Fatalf("fail_open{denylist} = %v, want 4", got)
	}
}

func TestRevokedTokenStaysRevokedOnRedis(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Now().Truncate(time.Second)}
	e := newEnvWith(t, c, redisStore(t))
	e.user(t, "alice")
	ctx := context.Background()
	pair := e.login(t, "alice")
	p, _ := e.svc.Authenticate(ctx, pair.AccessToken)
	if err := e.svc.Logout(ctx, p, ""); err != nil {
		t.Fatal(err)
	}
	// A second replica sharing the Redis sees the revocation.
	other := e.replica(t, e.hot, e.master, prometheus.NewRegistry())
	_, err := other.Authenticate(ctx, pair.AccessToken)
	wantCode(t, err, auth.CodeTokenRevoked)
	_, err = e.svc.Refresh(ctx, pair.RefreshToken)
	wantCode(t, err, auth.CodeInvalidToken)
}
