package auth_test

import (
	"context"
	"testing"

	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/auth"
	"github.com/gpuaas/gpuaas/internal/password"
)

func TestLogoutRevokesAccessAndRefreshTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "alice")
	e.user(t, "bob")
	ctx := context.Background()
	pair := e.login(t, "alice")
	otherSession := e.login(t, "alice")
	bobs := e.login(t, "bob")
	p, err := e.svc.Authenticate(ctx, pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}

	// Bob's refresh token is left alone without saying so.
	if err := e.svc.Logout(ctx, p, bobs.RefreshToken); err != nil {
		t.Fatalf("logout naming another user's token: %v", err)
	}
	if _, err := e.svc.Refresh(ctx, bobs.RefreshToken); err != nil {
		t.Fatalf("bob's token was revoked by alice: %v", err)
	}

	_, err = e.svc.Authenticate(ctx, pair.AccessToken)
	wantCode(t, err, auth.CodeTokenRevoked)
	_, err = e.svc.Refresh(ctx, pair.RefreshToken)
	wantCode(t, err, auth.CodeInvalidToken)
	if _, err := e.svc.Refresh(ctx, otherSession.RefreshToken); err != nil {
		t.Fatalf("logout ended another session: %v", err)
	}
	rows := e.audits(t, audit.ActionLogout)
	if len(rows) != 1 || rows[0].Actor.UUID != p.UserID || rows[0].Meta["refresh_token_revoked"] != true {
		t.Fatalf("audit rows %+v", rows)
	}
}

func TestLogoutWithRefreshTokenOfAnotherOwnSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "alice")
	ctx := context.Background()
	a := e.login(t, "alice")
	b := e.login(t, "alice")
	p, _ := e.svc.Authenticate(ctx, a.AccessToken)
	if err := e.svc.Logout(ctx, p, b.RefreshToken); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{a.RefreshToken, b.RefreshToken} {
		_, err := e.svc.Refresh(ctx, tok)
		wantCode(t, err, auth.CodeInvalidToken)
	}
}

func TestChangePasswordKeepsOnlyTheCurrentSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user(t, "alice")
	ctx := context.Background()
	current := e.login(t, "alice")
	other := e.login(t, "alice")
	p, _ := e.svc.Authenticate(ctx, current.AccessToken)
	const next = "a brand new passphrase"

	err := e.svc.ChangePassword(ctx, p, "not my password!", next)
	wantCode(t, err, auth.CodeInvalidCredentials)
	err = e.svc.ChangePassword(ctx, p, defaultPassword, "password1234")
	wantCode(t, err, password.CodeWeakPassword)
	err = e.svc.ChangePassword(ctx, p, defaultPassword, defaultPassword)
	wantCode(t, err, password.CodeWeakPassword)

	if err := e.svc.ChangePassword(ctx, p, defaultPassword, next); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Refresh(ctx, current.RefreshToken); err != nil {
		t.Fatalf("current session ended: %v", err)
	}
	_, err = e.svc.Refresh(ctx, other.RefreshToken)
	wantCode(t, err, auth.CodeInvalidToken)

	_, err = e.svc.Login(ctx, "alice", defaultPassword)
	wantCode(t, err, auth.CodeInvalidCredentials)
	if _, err := e.svc.Login(ctx, "alice", next); err != nil {
		t.Fatalf("login with the new password: %v", err)
	}
	rows := e.audits(t, audit.ActionPasswordChanged)
	if len(rows) != 1 || rows[0].Actor.UUID != u.ID || rows[0].Meta["sessions_revoked"] != float64(1) {
		t.Fatalf("audit rows %+v", rows)
	}
}

func TestChangePasswordWrongCurrentCountsTowardsLockout(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // 3 failures lock
	e.user(t, "alice")
	ctx := context.Background()
	pair := e.login(t, "alice")
	p, _ := e.svc.Authenticate(ctx, pair.AccessToken)
	for i := 0; i < 3; i++ {
		err := e.svc.ChangePassword(ctx, p, "guess number "+string(rune('a'+i)), "a brand new passphrase")
		wantCode(t, err, auth.CodeInvalidCredentials)
	}
	err := e.svc.ChangePassword(ctx, p, defaultPassword, "a brand new passphrase")
	wantCode(t, err, "rate_limited")
}
