package auth

import (
	"testing"
	"time"

	"github.com/gpuaas/gpuaas/internal/reqctx"
)

// Expired tokens leave the cache within verifiedSweepEvery of the next put,
// not only once it is full: the soak test found the heap growing with every
// login and refresh because they stayed until 8192 had piled up.
func TestVerifiedCacheDropsExpiredTokens(t *testing.T) {
	c := newVerifiedCache()
	now := time.Unix(1_700_000_000, 0)
	entry := func(ttl time.Duration) verifiedToken {
		return verifiedToken{p: reqctx.Principal{ExpiresUnix: now.Add(ttl).Unix()}, kid: "k"}
	}
	c.put("short-1", entry(30*time.Second), now)
	c.put("short-2", entry(30*time.Second), now)
	c.put("long", entry(time.Hour), now)

	// Expired, but not a sweep interval since the last one: still held
	// (get would drop one it is asked for).
	now = now.Add(verifiedSweepEvery - time.Second)
	c.put("other", entry(time.Hour), now)
	if got := len(c.entries); got != 4 {
		t.Fatalf("before a sweep is due: %d entries, want 4", got)
	}

	now = now.Add(2 * time.Second)
	c.put("latest", entry(time.Hour), now)
	if _, ok := c.entries["short-1"]; ok {
		t.Error("short-1 expired a sweep interval ago and is still cached")
	}
	if _, ok := c.entries["short-2"]; ok {
		t.Error("short-2 expired a sweep interval ago and is still cached")
	}
	for _, k := range []string{"long", "other", "latest"} {
		if _, ok := c.get(k, now); !ok {
			t.Errorf("%s is unexpired and was dropped", k)
		}
	}
}
