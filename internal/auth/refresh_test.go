package auth_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gpuaas/gpuaas/api"
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
	p, _ := e.svc.Authenticate(ctx, stolen.AccessToken)
	successor, err := e.svc.Refresh(ctx, stolen.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}

	// Within the grace window the replay gets the same successor back...
	again, err := e.svc.Refresh(ctx, stolen.RefreshToken)
	if err != nil || again.RefreshToken != successor.RefreshToken {
		t.Fatalf("replay within grace: %v (same successor: %v)", err, again.RefreshToken == successor.RefreshToken)
	}
	// ...after it, the replay is reuse and revokes the family, access
	// tokens included.
	e.clock.Advance(auth.DefaultRefreshReuseGrace + time.Second)
	_, err = e.svc.Refresh(ctx, stolen.RefreshToken)
	wantCode(t, err, auth.CodeRefreshReused)
	_, err = e.svc.Authenticate(ctx, successor.AccessToken)
	wantCode(t, err, auth.CodeTokenRevoked)
	_, err = e.svc.Authenticate(ctx, again.AccessToken)
	wantCode(t, err, auth.CodeTokenRevoked)
	// The successor dies with the family; replaying again is just invalid.
	_, err = e.svc.Refresh(ctx, successor.RefreshToken)
	wantCode(t, err, auth.CodeInvalidToken)
	_, err = e.svc.Refresh(ctx, stolen.RefreshToken)
	wantCode(t, err, auth.CodeInvalidToken)
	if _, err := e.svc.Refresh(ctx, other.RefreshToken); err != nil {
		t.Fatalf("unrelated session revoked: %v", err)
	}

	rows := e.audits(t, audit.ActionRefreshReuse)
	if len(rows) != 1 || rows[0].Actor.UUID != u.ID || rows[0].Meta["family_id"] != p.SessionID.String() {
		t.Fatalf("audit rows %+v (session %s)", rows, p.SessionID)
	}
	if got := metric(t, e.reg, "gpuaas_auth_token_refresh_total", "result", "reused"); got != 1 {
		t.Fatalf("refresh{reused} = %v", got)
	}
}

// Concurrent submissions of one token (tabs refreshing at once, a retried
// request) all get the one successor, and the session lives on.
func TestConcurrentRefreshSharesOneSuccessor(t *testing.T) {
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
		wg.Go(func() {
			<-start
			pairs[i], results[i] = e.svc.Refresh(context.Background(), pair.RefreshToken)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range results {
		if err != nil {
			t.Fatalf("submission %d: %v", i, err)
		}
		if pairs[i].RefreshToken != pairs[0].RefreshToken {
			t.Fatalf("submission %d got another successor", i)
		}
		if _, err := e.svc.Authenticate(context.Background(), pairs[i].AccessToken); err != nil {
			t.Fatalf("submission %d's access token: %v", i, err)
		}
	}
	if got := metric(t, e.reg, "gpuaas_auth_token_refresh_total", "result", "replayed_in_grace"); got != n-1 {
		t.Fatalf("refresh{replayed_in_grace} = %v, want %d", got, n-1)
	}
	if _, err := e.svc.Refresh(context.Background(), pairs[0].RefreshToken); err != nil {
		t.Fatalf("refresh the shared successor: %v", err)
	}
}

// Within the grace window a replay gets the successor only while that is
// unspent: once the successor was itself spent, the replay is reuse.
func TestGraceReplayOfASpentSuccessorIsReuse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.user(t, "alice")
	ctx := context.Background()
	first := e.login(t, "alice")
	second, err := e.svc.Refresh(ctx, first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Refresh(ctx, second.RefreshToken); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Refresh(ctx, first.RefreshToken)
	wantCode(t, err, auth.CodeRefreshReused)
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
