package auth

import (
	"context"
	"crypto/ed25519"
	"fmt"
)

// SignBlob signs msg with the current token-signing key and names the key
// (its kid in /.well-known/jwks.json), so anyone holding the JWKS can check
// it. Callers must put a domain line no JWT signing input can start with at
// the front of msg (see package release), so a blob signature never
// passes for a token.
func (s *Service) SignBlob(ctx context.Context, msg []byte) (kid string, sig []byte, err error) {
	kid, key, err := s.keys.signer(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("sign: %w", err)
	}
	return kid, ed25519.Sign(key, msg), nil
}
