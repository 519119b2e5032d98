package auth_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/auth"
	"github.com/gpuaas/gpuaas/internal/ratelimit"
	"github.com/gpuaas/gpuaas/internal/secrets"
)

// kidOf reads the kid from a JWT's header without verifying it.
func kidOf(t *testing.T, token string) string {
	t.Helper()
	h, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(h, []byte(`"kid":"`))
	if i < 0 {
		t.Fatalf("no kid in %s", h)
	}
	rest := h[i+len(`"kid":"`):]
	return string(rest[:bytes.IndexByte(rest, '"')])
}

func TestJWKSPublishesTheVerifyingKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "alice")
	jwks, err := e.svc.JWKS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(jwks.Keys) != 1 {
		t.Fatalf("keys %+v", jwks.Keys)
	}
	k := jwks.Keys[0]
	if k.Kty != "OKP" || k.Crv != "Ed25519" || k.Alg != "EdDSA" || k.Use != "sig" || k.Kid == "" {
		t.Fatalf("jwk %+v", k)
	}
	x, err := base64.RawURLEncoding.DecodeString(k.X)
	if err != nil || len(x) != ed25519.PublicKeySize {
		t.Fatalf("x %q: %v", k.X, err)
	}
	if got := kidOf(t, e.login(t, "alice").AccessToken); got != k.Kid {
		t.Fatalf("token kid %q, jwks kid %q", got, k.Kid)
	}
	// EnsureSigningKey again (a restart) keeps the key.
	if err := e.svc.EnsureSigningKey(context.Background()); err != nil {
		t.Fatal(err)
	}
	again, _ := e.svc.JWKS(context.Background())
	if len(again.Keys) != 1 || again.Keys[0].Kid != k.Kid {
		t.Fatalf("restart changed keys: %+v", again.Keys)
	}
}

func TestRotateSigningKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.user(t, "root-admin", defaultPassword, "admin")
	ctx := context.Background()
	old := e.login(t, "root-admin")
	oldKid := kidOf(t, old.AccessToken)
	// A second replica that has cached only the old key.
	other := e.replica(t, e.hot, e.master, prometheus.NewRegistry())

	kid, err := e.svc.RotateSigningKey(ctx, admin.ID)
	if err != nil {
		t.Fatal(err)
	}
	if kid == oldKid {
		t.Fatal("rotation kept the kid")
	}
	if _, err := e.svc.Authenticate(ctx, old.AccessToken); err != nil {
		t.Fatalf("token from the retired key: %v", err)
	}
	fresh := e.login(t, "root-admin")
	if got := kidOf(t, fresh.AccessToken); got != kid {
		t.Fatalf("new token kid %q, want %q", got, kid)
	}
	// The other replica learns the new kid when a token names it.
	if _, err := other.Authenticate(ctx, fresh.AccessToken); err != nil {
		t.Fatalf("other replica refuses the new key: %v", err)
	}
	jwks, _ := e.svc.JWKS(ctx)
	if len(jwks.Keys) != 2 || jwks.Keys[0].Kid != kid || jwks.Keys[1].Kid != oldKid {
		t.Fatalf("jwks %+v, want new then old", jwks.Keys)
	}
	rows := e.audits(t, audit.ActionSigningKeyRotate)
	if len(rows) != 1 || rows[0].Actor.UUID != admin.ID || rows[0].Meta["kid"] != kid {
		t.Fatalf("audit rows %+v", rows)
	}

	// Once the grace period has passed, the old key stops verifying (seen
	// at the next periodic reload).
	if _, err := e.st.Pool().Exec(ctx, `UPDATE signing_keys SET retired_at = now() - interval '1 day' WHERE kid = $1`, oldKid); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Minute)
	_, err = e.svc.Authenticate(ctx, old.AccessToken)
	wantCode(t, err, auth.CodeInvalidToken)
	jwks, _ = e.svc.JWKS(ctx)
	if len(jwks.Keys) != 1 || jwks.Keys[0].Kid != kid {
		t.Fatalf("jwks after grace %+v", jwks.Keys)
	}
}

func TestSigningKeysAreSealedInTheDatabase(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	var kid string
	var pub, enc []byte
	err := e.st.Pool().QueryRow(ctx, `SELECT kid, public_key, private_key_enc FROM signing_keys`).Scan(&kid, &pub, &enc)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := secrets.Open(e.master, enc, []byte(kid))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey), pub) {
		t.Fatal("sealed seed does not match the public key")
	}
	if bytes.Contains(enc, seed) {
		t.Fatal("private_key_enc contains the raw seed")
	}
	// Sealed under the kid: a row's key cannot be moved to another kid.
	if _, err := secrets.Open(e.master, enc, []byte("other-kid")); !errors.Is(err, secrets.ErrOpen) {
		t.Fatalf("open with another kid: %v", err)
	}

	// A replica with the wrong master key refuses to start.
	wrong := auth.New(e.cfg, e.st, e.hot, ratelimit.New(e.hot, nil), randomKey(t), nil)
	err = wrong.EnsureSigningKey(ctx)
	if err == nil || !errors.Is(err, secrets.ErrOpen) {
		t.Fatalf("ensure with the wrong master key: %v", err)
	}
	var n int
	_ = e.st.Pool().QueryRow(ctx, `SELECT count(*) FROM signing_keys`).Scan(&n)
	if n != 1 {
		t.Fatalf("wrong master key created a key: %d keys", n)
	}
}

func TestReplicasRacingToCreateTheFirstKeyInteroperate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.st.Pool().Exec(ctx, `DELETE FROM signing_keys`); err != nil {
		t.Fatal(err)
	}
	e.user(t, "alice")
	replicas := make([]*auth.Service, 4)
	for i := range replicas {
		replicas[i] = auth.New(e.cfg, e.st, e.hot, nil, e.master, nil)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(replicas))
	for i, r := range replicas {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = r.EnsureSigningKey(ctx) }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, a := range replicas {
		pair, err := a.Login(ctx, "alice", defaultPassword)
		if err != nil {
			t.Fatal(err)
		}
		for j, b := range replicas {
			if _, err := b.Authenticate(ctx, pair.AccessToken); err != nil {
				t.Fatalf("replica %d refuses replica %d's token: %v", j, i, err)
			}
		}
	}
}

func TestRotationIsAttributedToTheActor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// uuid.Nil is a system rotation (no user); it is recorded without actor.
	if _, err := e.svc.RotateSigningKey(context.Background(), uuid.Nil); err != nil {
		t.Fatal(err)
	}
	rows := e.audits(t, audit.ActionSigningKeyRotate)
	if len(rows) != 1 || rows[0].Actor.Valid {
		t.Fatalf("rows %+v", rows)
	}
}

func TestUnknownKidsReloadTheKeysAtMostEveryFewSeconds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.user(t, "root-admin", defaultPassword, "admin")
	ctx := context.Background()
	b := e.replica(t, e.hot, e.master, prometheus.NewRegistry())

	// A forged kid makes b reload once...
	_, err := b.Authenticate(ctx, forgeWithKid(t, e.login(t, "root-admin").AccessToken, "forged-kid"))
	wantCode(t, err, auth.CodeInvalidToken)

	// ...so a genuinely new kid seen in the same few seconds is not looked
	// up yet: forged kids cannot make every request a database read.
	if _, err := e.svc.RotateSigningKey(ctx, admin.ID); err != nil {
		t.Fatal(err)
	}
	fresh := e.login(t, "root-admin").AccessToken
	_, err = b.Authenticate(ctx, fresh)
	wantCode(t, err, auth.CodeInvalidToken)

	e.clock.Advance(5 * time.Second)
	if _, err := b.Authenticate(ctx, fresh); err != nil {
		t.Fatalf("new kid after the throttle: %v", err)
	}
}

// forgeWithKid replaces the kid in token's header (breaking nothing else but
// the kid's meaning: the signature covers the header, so it will not verify
// even if the kid were known).
func forgeWithKid(t *testing.T, token, kid string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	h, _ := base64.RawURLEncoding.DecodeString(parts[0])
	old := kidOf(t, token)
	h = bytes.Replace(h, []byte(old), []byte(kid), 1)
	parts[0] = base64.RawURLEncoding.EncodeToString(h)
	return strings.Join(parts, ".")
}
