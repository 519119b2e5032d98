// Package terminal owns browser and CLI terminals on an allocation: the
// single-use tokens that open them, the use case of opening one (Opener:
// token, socket cap, the allocation's state, the node's stream, the audit
// of its start and end), and the proxying of a session's frames. It knows
// allocations, agents and socket caps only through small interfaces, and
// nothing of HTTP routing.
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
