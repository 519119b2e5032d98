package auth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/auth"
	"github.com/gpuaas/gpuaas/internal/kv"
	"github.com/gpuaas/gpuaas/internal/reqctx"
)

func TestLoginIssuesAPairThatAuthenticates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user(t, "alice", defaultPassword, "admin")
	ctx := reqctx.WithClientIP(reqctx.WithRequestID(context.Background(), "req-1"), "192.0.2.7")

	pair, err := e.svc.Login(ctx, "Alice", defaultPassword) // usernames are lower-case
	if err != nil {
		t.Fatal(err)
	}
	if pair.TokenType != api.TokenPairTokenTypeBearer || pair.ExpiresIn != 900 {
		t.Fatalf("token_type %q expires_in %d", pair.TokenType, pair.ExpiresIn)
	}
	if !strings.HasPrefix(pair.RefreshToken, "gpr_") || pair.AccessToken == "" {
		t.Fatalf("pair %+v", pair)
	}
	p, err := e.svc.Authenticate(context.Background(), pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if p.UserID != u.ID || p.Username != "alice" || p.Role != "admin" || p.TokenID == "" ||
		p.SessionID.String() == "00000000-0000-0000-0000-000000000000" ||
		p.ExpiresUnix != e.clock.Now().Add(15*time.Minute).Unix() {
		t.Fatalf("principal %+v", p)
	}
	rows := e.audits(t, audit.ActionLoginSucceeded)
	if len(rows) != 1 || rows[0].Actor.UUID != u.ID || rows[0].Meta["username"] != "alice" || rows[0].ClientIP != "192.0.2.7" {
		t.Fatalf("audit rows %+v", rows)
	}
	if got := metric(t, e.reg, "gpuaas_auth_logins_total", "result", "success"); got != 1 {
		t.Fatalf("logins{success} = %v", got)
	}
}

func TestWrongPasswordAndUnknownUserLookAlike(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user(t, "alice")
	ctx := context.Background()

	_, errWrong := e.svc.Login(ctx, "alice", "not the right passphrase")
	_, errUnknown := e.svc.Login(ctx, "mallory", defaultPassword)
	a := wantCode(t, errWrong, auth.CodeInvalidCredentials)
	b := wantCode(t, errUnknown, auth.CodeInvalidCredentials)
	if a.Kind != apperr.KindUnauthorized || a.Message != b.Message || a.Message != "invalid username or password" {
		t.Fatalf("errors differ: %+v vs %+v", a, b)
	}

	rows := e.audits(t, audit.ActionLoginFailed)
	if len(rows) != 2 {
		t.Fatalf("want 2 login_failed rows, got %+v", rows)
	}
	if rows[0].Actor.UUID != u.ID || rows[0].Meta["reason"] != "bad_password" || rows[0].Meta["username"] != "alice" {
		t.Errorf("wrong-password row %+v", rows[0])
	}
	if rows[1].Actor.Valid || rows[1].Meta["reason"] != "unknown_user" || rows[1].Meta["username"] != "mallory" {
		t.Errorf("unknown-user row %+v", rows[1])
	}
	if got := metric(t, e.reg, "gpuaas_auth_logins_total", "result", "invalid_credentials"); got != 2 {
		t.Errorf("logins{invalid_credentials} = %v", got)
	}
}

func TestLoginAuditTruncatesLongUsernames(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.svc.Login(context.Background(), strings.Repeat("é", 100), "whatever it is")
	wantCode(t, err, auth.CodeInvalidCredentials)
	rows := e.audits(t, audit.ActionLoginFailed)
	if len(rows) != 1 || len(rows[0].Meta["username"].(string)) != 64 {
		t.Fatalf("rows %+v", rows)
	}
}

func TestLoginLocksUsernameAfterFailures(t *testing.T) {
	t.Parallel()
	for name, hot := range map[string]func(*testing.T, *clock) kv.Store{
		"memory": func(_ *testing.T, c *clock) kv.Store { return kv.NewMemory(c.Now) },
		"redis":  func(t *testing.T, _ *clock) kv.Store { return redisStore(t) },
	} {
		t.Run(name, func(t *testing.T) {
			c := &clock{t: time.Now().Truncate(time.Second)}
			e := newEnvWith(t, c, hot(t, c))
			u := e.user(t, "alice")
			e.user(t, "bob")
			ctx := context.Background()
			for i := 0; i < 3; i++ {
				_, err := e.svc.Login(ctx, "ALICE", "wrong passphrase "+string(rune('a'+i)))
				wantCode(t, err, auth.CodeInvalidCredentials)
			}
			// Locked: even the right password is refused, before it is checked.
			for i := 0; i < 3; i++ {
				_, err := e.svc.Login(ctx, "alice", defaultPassword)
				ae := wantCode(t, err, apperr.CodeRateLimited)
				if ae.RetryAfter <= 9*time.Minute || ae.RetryAfter > 10*time.Minute {
					t.Fatalf("retry after %v, want about the 10m window", ae.RetryAfter)
				}
			}
			if _, err := e.svc.Login(ctx, "bob", defaultPassword); err != nil {
				t.Fatalf("another user is locked too: %v", err)
			}
			// Only the first refusal is audited.
			var limited []auditRow
			for _, r := range e.audits(t, audit.ActionLoginFailed) {
				if r.Meta["reason"] == "rate_limited" {
					limited = append(limited, r)
				}
			}
			if len(limited) != 1 || limited[0].Actor.UUID != u.ID {
				t.Fatalf("rate_limited audit rows %+v", limited)
			}
			if got := metric(t, e.reg, "gpuaas_auth_logins_total", "result", "rate_limited"); got != 3 {
				t.Fatalf("logins{rate_limited} = %v", got)
			}
			if name == "memory" {
				c.Advance(10 * time.Minute)
				if _, err := e.svc.Login(ctx, "alice", defaultPassword); err != nil {
					t.Fatalf("login after the window: %v", err)
				}
			}
		})
	}
}

func TestSuccessfulLoginResetsFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "alice")
	ctx := context.Background()
	for round := 0; round < 3; round++ {
		for i := 0; i < 2; i++ {
			_, err := e.svc.Login(ctx, "alice", "wrong passphrase!")
			wantCode(t, err, auth.CodeInvalidCredentials)
		}
		e.login(t, "alice")
	}
}

func TestLoginLimitsPerAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *auth.Config) { c.LoginIPAttempts = 3; c.LoginIPWindow = time.Minute })
	e.user(t, "alice")
	e.user(t, "bob")
	from := func(ip string) context.Context { return reqctx.WithClientIP(context.Background(), ip) }

	if _, err := e.svc.Login(from("198.51.100.1"), "alice", defaultPassword); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		_, err := e.svc.Login(from("198.51.100.1"), "nobody", "guess guess guess")
		wantCode(t, err, auth.CodeInvalidCredentials)
	}
	_, err := e.svc.Login(from("198.51.100.1"), "bob", defaultPassword)
	ae := wantCode(t, err, apperr.CodeRateLimited)
	if ae.RetryAfter != time.Minute {
		t.Fatalf("retry after %v, want 1m", ae.RetryAfter)
	}
	if _, err := e.svc.Login(from("198.51.100.2"), "bob", defaultPassword); err != nil {
		t.Fatalf("other address limited: %v", err)
	}
	e.clock.Advance(time.Minute)
	if _, err := e.svc.Login(from("198.51.100.1"), "bob", defaultPassword); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestLoginFailsOpenWhenStoreIsDown(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Now().Truncate(time.Second)}
	e := newEnvWith(t, c, downStore(t))
	e.user(t, "alice")
	ctx := reqctx.WithClientIP(context.Background(), "203.0.113.9")
	for i := 0; i < 5; i++ {
		_, err := e.svc.Login(ctx, "alice", "wrong passphrase!")
		wantCode(t, err, auth.CodeInvalidCredentials)
	}
	if _, err := e.svc.Login(ctx, "alice", defaultPassword); err != nil {
		t.Fatalf("login with kv down: %v", err)
	}
	if got := metric(t, e.reg, "gpuaas_kv_fail_open_total", "op", "login_ip"); got != 6 {
		t.Errorf("fail_open{login_ip} = %v, want 6", got)
	}
	if got := metric(t, e.reg, "gpuaas_kv_fail_open_total", "op", "login_user"); got == 0 {
		t.Errorf("fail_open{login_user} not counted")
	}
}

// TestGuessesDoNotLockTheUserOutOfTheirUsualAddress: failures lock a
// (username, address) pair; past the per-username cap only the user's usual
// addresses may try, and the right password from there still works. Both kv
// backends, since usual addresses live there.
func TestGuessesDoNotLockTheUserOutOfTheirUsualAddress(t *testing.T) {
	t.Parallel()
	for name, hot := range map[string]func(*testing.T, *clock) kv.Store{
		"memory": func(_ *testing.T, c *clock) kv.Store { return kv.NewMemory(c.Now) },
		"redis":  func(t *testing.T, _ *clock) kv.Store { return redisStore(t) },
	} {
		t.Run(name, func(t *testing.T) {
			c := &clock{t: time.Now().Truncate(time.Second)}
			e := newEnvWith(t, c, hot(t, c), func(cfg *auth.Config) { cfg.LoginUsernameFailures = 5 })
			e.user(t, "root")
			from := func(ip string) context.Context { return reqctx.WithClientIP(context.Background(), ip) }
			if _, err := e.svc.Login(from("192.0.2.1"), "root", defaultPassword); err != nil {
				t.Fatal(err)
			}
			// One attacker address: locked after LoginUserFailures (3).
			for i := 0; i < 3; i++ {
				_, err := e.svc.Login(from("198.51.100.9"), "root", "wrong passphrase!")
				wantCode(t, err, auth.CodeInvalidCredentials)
			}
			_, err := e.svc.Login(from("198.51.100.9"), "root", defaultPassword)
			wantCode(t, err, apperr.CodeRateLimited)
			// More addresses push the name past its cap (5): new addresses
			// are refused, even with the right password ...
			for _, ip := range []string{"198.51.100.10", "198.51.100.11"} {
				_, err := e.svc.Login(from(ip), "root", "wrong passphrase!")
				wantCode(t, err, auth.CodeInvalidCredentials)
			}
			_, err = e.svc.Login(from("198.51.100.12"), "root", defaultPassword)
			wantCode(t, err, apperr.CodeRateLimited)
			// ... the usual one is not.
			if _, err := e.svc.Login(from("192.0.2.1"), "root", defaultPassword); err != nil {
				t.Fatalf("usual address refused: %v", err)
			}
		})
	}
}
