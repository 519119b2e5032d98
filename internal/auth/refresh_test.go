package auth_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/auth"
)

func TestRefreshRotates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "alice")
	ctx := context.Background()
	first := e.login(t, "alice")
	p1, _ := e.svc.Authenticate(ctx, first.AccessToken)

	e.clock.Advance(time.Minute)
	second, err := e.svc.Refresh(ctx, first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
		t.Fatal("refresh returned the same tokens")
	}
	p2, err := e.svc.Authenticate(ctx, second.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if p2.SessionID != p1.SessionID || p2.UserID != p1.UserID || p2.TokenID == p1.TokenID {
		t.Fatalf("principals %+v / %+v", p1, p2)
	}
	if _, err := e.svc.Refresh(ctx, second.RefreshToken); err != nil {
		t.Fatalf("refresh the successor: %v", err)
	}
	if got := metric(t, e.reg, "gpuaas_auth_token_refresh_total", "result", "success"); got != 2 {
		t.Fatalf("refresh{success} = %v", got)
	}
}

func TestRefreshReuseRevokesTheFamily(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user(t, "alice")
	ctx := context.Background()
	stolen := e.login(t, "alice")
	other := e.login(t, "alice") // a second, unrelated session
	successor, err := e.svc.Refresh(ctx, stolen.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}

	_, err = e.svc.Refresh(ctx, stolen.RefreshToken)
	wantCode(t, err, auth.CodeRefreshReused)
	// The successor dies with the family; replaying again is just invalid.
	_, err = e.svc.Refresh(ctx, successor.RefreshToken)
	wantCode(t, err, auth.CodeInvalidToken)
	_, err = e.svc.Refresh(ctx, stolen.RefreshToken)
	wantCode(t, err, auth.CodeInvalidToken)
	if _, err := e.svc.Refresh(ctx, other.RefreshToken); err != nil {
		t.Fatalf("unrelated session revoked: %v", err)
	}

	rows := e.audits(t, audit.ActionRefreshReuse)
	p, _ := e.svc.Authenticate(ctx, stolen.AccessToken)
	if len(rows) != 1 || rows[0].Actor.UUID != u.ID || rows[0].Meta["family_id"] != p.SessionID.String() {
		t.Fatalf("audit rows %+v (session %s)", rows, p.SessionID)
	}
	if got := metric(t, e.reg, "gpuaas_auth_token_refresh_total", "result", "reused"); got != 1 {
		t.Fatalf("refresh{reused} = %v", got)
	}
}

func TestConcurrentRefreshHasOneWinner(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "alice")
	pair := e.login(t, "alice")

	const n = 8
	var wg sync.WaitGroup
	results := make([]error, n)
	pairs := make([]api.TokenPair, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			pairs[i], results[i] = e.svc.Refresh(context.Background(), pair.RefreshToken)
		}()
	}
	close(start)
	wg.Wait()
	// The first spends the token; the next one in the row lock sees it spent
	// and revokes the family; later ones find it revoked.
	var winner api.TokenPair
	wins, reused := 0, 0
	for i, err := range results {
		switch {
		case err == nil:
			wins++
			winner = pairs[i]
		case apperr.HasCode(err, auth.CodeRefreshReused):
			reused++
		default:
			wantCode(t, err, auth.CodeInvalidToken)
		}
	}
	if wins != 1 || reused != 1 {
		t.Fatalf("%d won and %d saw reuse, want 1 and 1 (errors %v)", wins, reused, results)
	}
	// A double submit is indistinguishable from theft, so the winner's
	// successor is revoked with the family.
	_, err := e.svc.Refresh(context.Background(), winner.RefreshToken)
	wantCode(t, err, auth.CodeInvalidToken)
}

func TestRefreshRefusesGarbageAndExpired(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "alice")
	ctx := context.Background()
	for _, tok := range []string{"", "gpr_", "gpr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "not a token at all"} {
		_, err := e.svc.Refresh(ctx, tok)
		wantCode(t, err, auth.CodeInvalidToken)
	}
	pair := e.login(t, "alice")
	e.clock.Advance(30 * 24 * time.Hour)
	_, err := e.svc.Refresh(ctx, pair.RefreshToken)
	wantCode(t, err, auth.CodeInvalidToken)
}

func TestRefreshCarriesTheCurrentRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user(t, "alice")
	ctx := context.Background()
	pair := e.login(t, "alice")
	if _, err := e.st.Pool().Exec(ctx, `UPDATE users SET role = 'admin' WHERE id = $1`, u.ID); err != nil {
		t.Fatal(err)
	}
	next, err := e.svc.Refresh(ctx, pair.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := e.svc.Authenticate(ctx, next.AccessToken)
	if p.Role != "admin" {
		t.Fatalf("role after refresh %q", p.Role)
	}
}

func TestCleanupDeletesLongExpiredRefreshTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "alice")
	ctx := context.Background()
	e.clock.Advance(-40 * 24 * time.Hour) // issued 40 days ago, expired 10 days ago
	e.login(t, "alice")
	e.clock.Advance(40 * 24 * time.Hour)
	live := e.login(t, "alice")

	if err := e.svc.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := e.st.Pool().QueryRow(ctx, `SELECT count(*) FROM refresh_tokens`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d refresh tokens left, want 1", n)
	}
	if _, err := e.svc.Refresh(ctx, live.RefreshToken); err != nil {
		t.Fatalf("live token deleted: %v", err)
	}
}
