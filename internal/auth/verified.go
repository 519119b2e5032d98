package auth

import (
	"sync"
	"time"

	"github.com/gpuaas/gpuaas/internal/reqctx"
)

// verifiedCacheSize bounds the tokens remembered as verified. A client
// reuses one access token for its whole life, and an Ed25519 verify costs
// ~60µs (a third of a /users/me request's CPU), so each replica verifies a
// token's signature once and remembers the result until the token expires.
// The deny-list is still consulted on every request, and a hit counts only
// while the token's key is still in the keyring, so removing a key stops its
// tokens at once.
const verifiedCacheSize = 8192

// verifiedSweepEvery is how often put drops expired entries. Without it the
// cache kept every token until it was full, long after they expired: a
// steady trickle of logins and refreshes grew the heap for hours (the soak
// test saw ~0.3 MiB a minute at 20 requests a second) before the first purge.
// With it the cache holds about one access-token lifetime of tokens.
const verifiedSweepEvery = time.Minute

type verifiedCache struct {
	mu        sync.Mutex
	entries   map[string]verifiedToken
	lastSweep time.Time
}

type verifiedToken struct {
	p   reqctx.Principal
	kid string
}

func newVerifiedCache() *verifiedCache {
	return &verifiedCache{entries: make(map[string]verifiedToken)}
}

// get returns a token verified before, while it is unexpired.
func (c *verifiedCache) get(token string, now time.Time) (verifiedToken, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[token]
	if !ok {
		return verifiedToken{}, false
	}
	if now.Unix() >= e.p.ExpiresUnix {
		delete(c.entries, token)
		return verifiedToken{}, false
	}
	return e, true
}

// put remembers a verified token. Every verifiedSweepEvery, and when full,
// it drops the expired entries; when still full, everything: a miss only
// costs a verify.
func (c *verifiedCache) put(token string, e verifiedToken, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= verifiedCacheSize || now.Sub(c.lastSweep) >= verifiedSweepEvery {
		c.lastSweep = now
		for k, old := range c.entries {
			if now.Unix() >= old.p.ExpiresUnix {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= verifiedCacheSize {
			clear(c.entries)
		}
	}
	c.entries[token] = e
}
