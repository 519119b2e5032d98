package release

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/gpuaas/gpuaas/api"
)

func TestSignAndVerify(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	keys := KeysFromJWKS(api.JWKS{Keys: []api.JWK{
		{Kty: api.JWKKtyOKP, Crv: api.JWKCrvEd25519, Kid: "k1", X: base64.RawURLEncoding.EncodeToString(pub)},
		{Kty: api.JWKKtyOKP, Crv: api.JWKCrvEd25519, Kid: "k2", X: base64.RawURLEncoding.EncodeToString(other)},
		{Kty: api.JWKKtyOKP, Crv: api.JWKCrvEd25519, Kid: "bad", X: "!!"},
	}})
	if len(keys) != 2 {
		t.Fatalf("keys: %v", keys)
	}
	sha, _, _ := SHA256(strings.NewReader("binary"))
	sig := base64.StdEncoding.EncodeToString(ed25519.Sign(priv, Message("v2", sha)))
	if err := Verify(keys, "k1", "v2", sha, sig); err != nil {
		t.Fatal(err)
	}
	if err := Verify(keys, "", "v2", strings.ToUpper(sha), sig); err != nil {
		t.Fatalf("any key, upper-case hex: %v", err)
	}
	for name, err := range map[string]error{
		"wrong key":     Verify(keys, "k2", "v2", sha, sig),
		"unknown kid":   Verify(keys, "k9", "v2", sha, sig),
		"other version": Verify(keys, "k1", "v3", sha, sig),
		"other digest":  Verify(keys, "k1", "v2", strings.Repeat("0", 64), sig),
		"garbage":       Verify(keys, "k1", "v2", sha, "nope"),
	} {
		if !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
