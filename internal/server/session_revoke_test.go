package server_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/auth"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/sdk"
)

// twoReplicas runs two control planes sharing Postgres and Redis.
func twoReplicas(t *testing.T) (a, b *servertest.Env) {
	t.Helper()
	a = servertest.Start(t, func(c *config.Server) { c.RedisURL = "redis://127.0.0.1:6379/0" })
	b = servertest.StartReplica(t, a, func(c *config.Server) { c.Roles = "api" })
	return a, b
}

// eventuallyRevoked polls c until its token is refused as revoked; the
// promise is "within seconds".
func eventuallyRevoked(t *testing.T, c *sdk.Client, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := c.Me(ctx)
		if e, ok := sdk.AsError(err); ok && e.Status == http.StatusUnauthorized && e.Code == auth.CodeTokenRevoked {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still answered after 5s (err %v)", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestLogoutEndsEveryAccessTokenOfTheSessionOnEveryReplica(t *testing.T) {
	t.Parallel()
	a, b := twoReplicas(t)
	u := a.NewUser("user")
	_, first := a.Login(u)
	second, err := a.Client("").Refresh(ctx, first.RefreshToken) // same session, new access token
	if err != nil {
		t.Fatal(err)
	}
	_, other := a.Login(u) // another session of the same user
	if err := a.Client(second.AccessToken).Logout(ctx, ""); err != nil {
		t.Fatal(err)
	}
	eventuallyRevoked(t, b.Client(first.AccessToken), "earlier access token of the logged-out session on replica b")
	eventuallyRevoked(t, b.Client(second.AccessToken), "presented access token on replica b")
	if _, err := b.Client(other.AccessToken).Me(ctx); err != nil {
		t.Fatalf("another session was ended by logout: %v", err)
	}
}

func TestPasswordChangeEndsTheOtherSessionsOnEveryReplica(t *testing.T) {
	t.Parallel()
	a, b := twoReplicas(t)
	u := a.NewUser("user")
	current, _ := a.Login(u)
	_, other := a.Login(u)
	if err := current.ChangePassword(ctx, servertest.Password, "a brand new passphrase 42"); err != nil {
		t.Fatal(err)
	}
	eventuallyRevoked(t, b.Client(other.AccessToken), "other session after a password change")
	if _, err := b.Client(other.AccessToken).Refresh(ctx, other.RefreshToken); err == nil {
		t.Fatal("other session's refresh token still works")
	}
	if _, err := current.Me(ctx); err != nil {
		t.Fatalf("the session that changed the password was ended: %v", err)
	}
}

// Two console tabs refreshing with the same token at once both get the one
// successor; the session survives.
func TestTwoTabsRefreshingAtOnceKeepTheSession(t *testing.T) {
	t.Parallel()
	a, b := twoReplicas(t)
	u := a.NewUser("user")
	_, pair := a.Login(u)
	var wg sync.WaitGroup
	got := make([]api.TokenPair, 2)
	errs := make([]error, 2)
	for i, env := range []*servertest.Env{a, b} {
		wg.Go(func() { got[i], errs[i] = env.Client("").Refresh(ctx, pair.RefreshToken) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("tab %d: %v", i, err)
		}
	}
	if got[0].RefreshToken != got[1].RefreshToken {
		t.Fatal("the tabs got different successors")
	}
	for i, p := range got {
		if _, err := b.Client(p.AccessToken).Me(ctx); err != nil {
			t.Fatalf("tab %d's access token: %v", i, err)
		}
	}
	if _, err := a.Client("").Refresh(ctx, got[0].RefreshToken); err != nil {
		t.Fatalf("the shared successor: %v", err)
	}
}

func TestRoleChangeEndsEverySessionOfTheUserOnEveryReplica(t *testing.T) {
	t.Parallel()
	a, b := twoReplicas(t)
	admin, _ := a.As("admin")
	u := a.NewUser("user")
	_, one := a.Login(u)
	_, two := a.Login(u)
	got, err := admin.AdminUpdateUser(ctx, u.Id, api.UpdateUserRequest{Role: ptr(api.RoleAdmin)})
	if err != nil || got.Role != api.RoleAdmin {
		t.Fatalf("update role: %+v %v", got, err)
	}
	for i, p := range []api.TokenPair{one, two} {
		eventuallyRevoked(t, b.Client(p.AccessToken), fmt.Sprintf("session %d after a role change", i))
		if _, err := b.Client("").Refresh(ctx, p.RefreshToken); err == nil {
			t.Fatalf("session %d's refresh token still works", i)
		}
	}
	// The next login carries the new role.
	c, _ := a.Login(u)
	if me, err := c.Me(ctx); err != nil || me.Role != api.RoleAdmin {
		t.Fatalf("me after role change: %+v %v", me, err)
	}
	rows, err := admin.AdminListAuditLogs(ctx, api.AdminListAuditLogsParams{Action: ptr("user.role_change")})
	if err != nil || len(rows.Items) != 1 || rows.Items[0].Metadata["from"] != "user" || rows.Items[0].Metadata["to"] != "admin" {
		t.Fatalf("audit %+v %v", rows.Items, err)
	}
	// The same role again changes nothing and ends nothing.
	if _, err := admin.AdminUpdateUser(ctx, u.Id, api.UpdateUserRequest{Role: ptr(api.RoleAdmin)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Me(ctx); err != nil {
		t.Fatalf("a no-op role change ended the session: %v", err)
	}
	_, err = c.AdminUpdateUser(ctx, u.Id, api.UpdateUserRequest{Role: ptr(api.Role("root"))})
	wantErr(t, err, http.StatusBadRequest, "")
}
