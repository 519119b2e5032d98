// Package terminal mints and consumes the single-use tokens that open a
// browser or CLI terminal on an allocation.
//
// A token is "gpt_" followed by 32 random bytes in unpadded base64url. Only
// its SHA-256 is stored, in the shared hot state (kv.Store) under
// "term:<hex sha256>", with the allocation and user it was minted for and a
// TTL (--terminal-token-ttl). Consume takes the entry with GETDEL (or the
// in-process equivalent), so of any number of concurrent consumers exactly
// one wins; every other sees the token as spent.
//
// A token presented for an allocation other than its own is refused, and
// because the lookup already deleted it, it is spent too: a token that
// leaked into the wrong request cannot be retried against the right one.
package terminal
