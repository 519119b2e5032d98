package release

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gpuaas/gpuaas/api"
)

// BinaryPath is where an agent downloads the control plane's agent binary.
const BinaryPath = "/api/v1/agent/binary"

// Response headers of BinaryPath.
const (
	HeaderVersion   = "X-Gpuaas-Version"
	HeaderSHA256    = "X-Gpuaas-Sha256"
	HeaderSignature = "X-Gpuaas-Signature" // standard base64 of the Ed25519 signature
	HeaderKid       = "X-Gpuaas-Kid"       // the JWKS key that made it
	HeaderPlatform  = "X-Gpuaas-Platform"  // GOOS/GOARCH of the binary
)

// domain opens every signed message; it keeps these signatures apart from
// any other use of the key.
const domain = "gpuaas-agent-binary"

// Message is what the platform key signs for a binary: the domain, the
// version and the lower-case hex SHA-256, one a line.
func Message(version, sha256Hex string) []byte {
	return []byte(domain + "\n" + version + "\n" + strings.ToLower(sha256Hex))
}

// ErrBadSignature is returned when a signature does not verify.
var ErrBadSignature = errors.New("agent binary signature does not verify")

// Keys maps a kid to its Ed25519 public key.
type Keys map[string]ed25519.PublicKey

// KeysFromJWKS takes the Ed25519 keys out of a JWKS; other keys are skipped.
func KeysFromJWKS(set api.JWKS) Keys {
	out := Keys{}
	for _, k := range set.Keys {
		if k.Kty != api.JWKKtyOKP || k.Crv != api.JWKCrvEd25519 {
			continue
		}
		pk, err := base64.RawURLEncoding.DecodeString(k.X)
		if err != nil || len(pk) != ed25519.PublicKeySize {
			continue
		}
		out[k.Kid] = ed25519.PublicKey(pk)
	}
	return out
}

// Verify checks sig (standard base64) over Message(version, sha256Hex)
// with the key kid. An empty kid tries every key.
func Verify(keys Keys, kid, version, sha256Hex, sig string) error {
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(raw) != ed25519.SignatureSize {
		return fmt.Errorf("%w: malformed signature", ErrBadSignature)
	}
	msg := Message(version, sha256Hex)
	if kid != "" {
		pk, ok := keys[kid]
		if !ok {
			return fmt.Errorf("%w: key %q is not in the server's JWKS", ErrBadSignature, kid)
		}
		if !ed25519.Verify(pk, msg, raw) {
			return ErrBadSignature
		}
		return nil
	}
	for _, pk := range keys {
		if ed25519.Verify(pk, msg, raw) {
			return nil
		}
	}
	return ErrBadSignature
}

// SHA256 hashes r and returns the lower-case hex digest and the length.
func SHA256(r io.Reader) (string, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
