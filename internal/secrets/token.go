package secrets

import (
	"crypto/rand"
	"encoding/base64"
)

// Token returns prefix followed by 32 random bytes, base64url without
// padding (43 characters): the bearer secrets the platform hands out
// (refresh tokens, join tokens and node credentials, terminal tokens,
// relay tickets). Only their hashes, or short-lived copies, are stored.
// crypto/rand does not fail on supported platforms (Go 1.24+).
func Token(prefix string) string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}
