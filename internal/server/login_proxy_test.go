package server_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/sdk"
)

// loginFrom signs in with X-Forwarded-For: xff (none when empty) and
// returns the status and error code.
func loginFrom(t *testing.T, c *sdk.Client, xff, username, password string) (int, string) {
	t.Helper()
	hdr := http.Header{}
	if xff != "" {
		hdr.Set("X-Forwarded-For", xff)
	}
	status, body, _ := raw(t, c, "POST", "/api/v1/auth/personal/login",
		fmt.Sprintf(`{"username":%q,"password":%q}`, username, password), hdr)
	code, _ := body["code"].(string)
	return status, code
}

// Behind a TLS-terminating proxy every client reaches the server from the
// proxy's address; with the proxy trusted, each is limited on its own.
func TestClientsBehindATrustedProxyDoNotLockEachOtherOut(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, func(c *config.Server) {
		c.TrustedProxies = "127.0.0.1/32"
		c.LoginIPAttempts = 3
		c.LoginUserFailures = 3
	})
	u := env.NewUser("user")
	anon := env.Client("")
	// Eight clients, each one bad password: more than the per-address limit
	// and the per-pair lockout would allow any single client.
	for i := range 8 {
		xff := fmt.Sprintf("203.0.113.%d", i+1)
		if status, code := loginFrom(t, anon, xff, u.Username, "not the password at all"); status != 401 {
			t.Fatalf("client %s: %d %s, want 401 (another client's failures counted against it)", xff, status, code)
		}
	}
	if status, code := loginFrom(t, anon, "203.0.113.99", u.Username, servertest.Password); status != 200 {
		t.Fatalf("right password from a fresh client behind the proxy: %d %s", status, code)
	}
	// One client over its own limit is limited, alone; entries left of it
	// (written by the client) and right of it (trusted hops) do not count.
	for range 3 {
		loginFrom(t, anon, "10.0.0.1, 198.51.100.7, 127.0.0.1", "nobody", "x")
	}
	if status, code := loginFrom(t, anon, "198.51.100.7", "nobody", "x"); status != 429 || code != "rate_limited" {
		t.Fatalf("client over its limit: %d %s, want 429", status, code)
	}
	if status, _ := loginFrom(t, anon, "198.51.100.8", u.Username, servertest.Password); status != 200 {
		t.Fatalf("a neighbour of the limited client: %d", status)
	}
}

// An attacker hammering the admin's name from one address, or from many,
// does not keep the admin out of their usual address.
func TestAttackerCannotLockTheAdminOut(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, func(c *config.Server) {
		c.TrustedProxies = "127.0.0.1"
		c.LoginUserFailures = 3
		c.LoginUsernameFailures = 6
	})
	admin := env.NewUser("admin")
	anon := env.Client("")
	const usual = "192.0.2.10"
	if status, code := loginFrom(t, anon, usual, admin.Username, servertest.Password); status != 200 {
		t.Fatalf("admin's first login: %d %s", status, code)
	}
	for i := range 10 {
		status, code := loginFrom(t, anon, "198.51.100.66", admin.Username, fmt.Sprintf("guess number %d!!", i))
		if status != 401 && status != 429 {
			t.Fatalf("attacker: %d %s", status, code)
		}
	}
	if status, code := loginFrom(t, anon, "198.51.100.66", admin.Username, servertest.Password); status != 429 {
		t.Fatalf("the attacker's address is not locked for this name: %d %s", status, code)
	}
	// Spread over many addresses, the attacker reaches the name-wide cap:
	// new addresses are then refused, the usual one is not.
	for i := range 8 {
		loginFrom(t, anon, fmt.Sprintf("198.51.100.%d", 100+i), admin.Username, "another guess!!")
	}
	if status, code := loginFrom(t, anon, "198.51.100.200", admin.Username, servertest.Password); status != 429 {
		t.Fatalf("a new address past the name-wide cap: %d %s, want 429", status, code)
	}
	if status, code := loginFrom(t, anon, usual, admin.Username, servertest.Password); status != 200 {
		t.Fatalf("admin from their usual address during the attack: %d %s", status, code)
	}
}

// X-Forwarded-For from a peer that is not a trusted proxy is ignored: it
// cannot buy a fresh limit by naming a new address each time.
func TestUntrustedForwardedForIsIgnored(t *testing.T) {
	t.Parallel()
	for name, trusted := range map[string]string{"no proxies": "", "another proxy": "10.9.9.9/32"} {
		t.Run(name, func(t *testing.T) {
			env := servertest.Start(t, func(c *config.Server) {
				c.TrustedProxies = trusted
				c.LoginIPAttempts = 3
			})
			anon := env.Client("")
			for i := range 3 {
				loginFrom(t, anon, fmt.Sprintf("203.0.113.%d", i+1), "nobody", "x")
			}
			if status, code := loginFrom(t, anon, "203.0.113.50", "nobody", "x"); status != 429 || code != "rate_limited" {
				t.Fatalf("spoofed X-Forwarded-For bought a fresh limit: %d %s", status, code)
			}
		})
	}
}
