package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/auth"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/internal/users"
	"github.com/gpuaas/gpuaas/sdk"
)

// eventuallySuspended polls c until its token is refused with 403
// account_suspended; the promise is "within seconds".
func eventuallySuspended(t *testing.T, c *sdk.Client, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := c.Me(ctx)
		if e, ok := sdk.AsError(err); ok && e.Status == http.StatusForbidden && e.Code == auth.CodeAccountSuspended {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not refused as account_suspended after 5s (err %v)", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func auditActions(t *testing.T, admin *sdk.Client, action, target string) []api.AuditLog {
	t.Helper()
	l, err := admin.AdminListAuditLogs(ctx, api.AdminListAuditLogsParams{Action: ptr(action), TargetId: ptr(target)})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// A suspended user gets 403 account_suspended on sign-in and on every token
// it held, on every replica, within seconds; its allocations are kept or
// released as the admin chose; unsuspending lets it sign in again.
func TestSuspendedUserIsRefusedEverywhere(t *testing.T) {
	t.Parallel()
	a, b := twoReplicas(t)
	seedInventory(t, a)
	a.Fund(t, 100_000)
	admin, _ := a.As("admin")
	u := a.NewUser("user")
	c1, one := a.Login(u)
	_, two := a.Login(u)
	kept := createAllocWith(t, c1)
	waitStatus(t, c1, kept, api.AllocationStatusActive)
	ws := dialNotify(t, b, two.AccessToken, true)

	got, err := admin.AdminSuspendUser(ctx, u.Id, "abuse report 42", false)
	if err != nil || got.SuspendedAt == nil || got.SuspensionReason == nil || *got.SuspensionReason != "abuse report 42" {
		t.Fatalf("suspend: %+v %v", got, err)
	}
	for i, p := range []api.TokenPair{one, two} {
		eventuallySuspended(t, b.Client(p.AccessToken), "replica b, session "+string(rune('1'+i)))
		eventuallySuspended(t, a.Client(p.AccessToken), "replica a, session "+string(rune('1'+i)))
		_, err := b.Client("").Refresh(ctx, p.RefreshToken)
		wantErr(t, err, http.StatusForbidden, auth.CodeAccountSuspended)
	}
	// The notification socket it held on the other replica is closed.
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for {
		if _, _, err := ws.Read(rctx); err != nil {
			if websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
				t.Fatalf("notification socket after suspension: %v, want a policy-violation close", err)
			}
			break
		}
	}
	_, err = a.Client("").Login(ctx, u.Username, servertest.Password)
	wantErr(t, err, http.StatusForbidden, auth.CodeAccountSuspended)
	_, err = a.Client("").Login(ctx, u.Username, "not the password at all")
	wantErr(t, err, http.StatusUnauthorized, auth.CodeInvalidCredentials)
	_, err = c1.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1"}, uuid.NewString())
	wantErr(t, err, http.StatusForbidden, auth.CodeAccountSuspended)
	// Kept: still running.
	if al, err := admin.AdminGetAllocation(ctx, kept); err != nil || al.Status != api.AllocationStatusActive {
		t.Fatalf("kept allocation: %+v %v", al, err)
	}
	if rows := auditActions(t, admin, "user.suspend", u.Id.String()); len(rows) != 1 || rows[0].Metadata["reason"] != "abuse report 42" {
		t.Fatalf("audit: %+v", rows)
	}

	// Unsuspended: signs in again; the old sessions stay ended.
	if got, err := admin.AdminUnsuspendUser(ctx, u.Id); err != nil || got.SuspendedAt != nil {
		t.Fatalf("unsuspend: %+v %v", got, err)
	}
	again, _ := a.Login(u)
	if _, err := again.Me(ctx); err != nil {
		t.Fatal(err)
	}
	eventuallyRevoked(t, b.Client(one.AccessToken), "a session the suspension ended")

	// Suspended again, releasing: its allocation goes, as a force release.
	if _, err := admin.AdminSuspendUser(ctx, u.Id, "second strike", true); err != nil {
		t.Fatal(err)
	}
	al, err := admin.AdminGetAllocation(ctx, kept)
	if err != nil || (al.Status != api.AllocationStatusReleasing && al.Status != api.AllocationStatusReleased) ||
		!strings.Contains(al.ReleaseReason, "second strike") {
		t.Fatalf("released allocation: %+v %v", al, err)
	}
	if rows := auditActions(t, admin, "allocation.force_release", kept.String()); len(rows) != 1 {
		t.Fatalf("force release audit: %+v", rows)
	}
	// Not themselves; not a user.
	_, adminUser := a.As("admin")
	self, _ := a.Login(adminUser)
	_, err = self.AdminSuspendUser(ctx, adminUser.Id, "oops", false)
	wantErr(t, err, http.StatusBadRequest, "invalid_request")
	_, err = again.AdminSuspendUser(ctx, u.Id, "x", false)
	wantErr(t, err, http.StatusForbidden, "")
	_, err = admin.AdminSuspendUser(ctx, uuid.New(), "x", false)
	wantErr(t, err, http.StatusNotFound, "not_found")
	status, body, _ := raw(t, admin, "POST", "/api/v1/admin/users/"+u.Id.String()+"/suspend", `{"reason":""}`, nil)
	if status != 400 || body["code"] != "invalid_request" {
		t.Fatalf("empty reason: %d %v", status, body)
	}
}

func resetToken(t *testing.T, link api.PasswordResetLink) string {
	t.Helper()
	u, err := url.Parse(link.Url)
	if err != nil || u.Path != "/reset-password" || u.Query().Get("token") == "" {
		t.Fatalf("link %q", link.Url)
	}
	if d := time.Until(link.ExpiresAt); d < 59*time.Minute || d > 61*time.Minute {
		t.Fatalf("link expires in %v, want an hour", d)
	}
	return u.Query().Get("token")
}

// A reset link works once, within the hour, and ends the user's sessions.
func TestPasswordResetLinkWorksOnce(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	admin, _ := env.As("admin")
	u := env.NewUser("user")
	_, old := env.Login(u)
	link, err := admin.AdminIssuePasswordReset(ctx, u.Id)
	if err != nil {
		t.Fatal(err)
	}
	token := resetToken(t, link)
	anon := env.Client("")
	// A weak password leaves the link usable.
	wantErr(t, anon.RedeemPasswordReset(ctx, token, "short"), http.StatusBadRequest, "weak_password")
	const fresh = "a fresh passphrase for 2027"
	if err := anon.RedeemPasswordReset(ctx, token, fresh); err != nil {
		t.Fatal(err)
	}
	wantErr(t, anon.RedeemPasswordReset(ctx, token, "yet another passphrase 9"), http.StatusGone, auth.CodeResetLinkExpired)
	if _, err := anon.Login(ctx, u.Username, fresh); err != nil {
		t.Fatalf("new password: %v", err)
	}
	_, err = anon.Login(ctx, u.Username, servertest.Password)
	wantErr(t, err, http.StatusUnauthorized, auth.CodeInvalidCredentials)
	eventuallyRevoked(t, env.Client(old.AccessToken), "a session from before the reset")
	wantErr(t, anon.RedeemPasswordReset(ctx, "gpr_never-issued", fresh+"x"), http.StatusGone, auth.CodeResetLinkExpired)

	// A newer link replaces an older one; an expired one is refused.
	first, _ := admin.AdminIssuePasswordReset(ctx, u.Id)
	second, _ := admin.AdminIssuePasswordReset(ctx, u.Id)
	wantErr(t, anon.RedeemPasswordReset(ctx, resetToken(t, first), fresh+" one"), http.StatusGone, auth.CodeResetLinkExpired)
	if _, err := env.App.Store.Pool().Exec(ctx, `UPDATE password_resets SET expires_at = now() - interval '1 second' WHERE user_id = $1`, u.Id); err != nil {
		t.Fatal(err)
	}
	wantErr(t, anon.RedeemPasswordReset(ctx, resetToken(t, second), fresh+" two"), http.StatusGone, auth.CodeResetLinkExpired)
	// Only hashes are stored.
	var n int
	if err := env.App.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM password_resets WHERE token_hash = sha256(convert_to($1, 'UTF8'))`, resetToken(t, second)).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the link's token is not stored as its SHA-256: %d %v", n, err)
	}
	if rows := auditActions(t, admin, "user.password_reset_issue", u.Id.String()); len(rows) != 3 {
		t.Fatalf("issue audit: %d rows", len(rows))
	}
	if rows := auditActions(t, admin, "user.password_reset", u.Id.String()); len(rows) != 1 {
		t.Fatalf("redeem audit: %d rows", len(rows))
	}
}

// Delete refuses while allocations are held, then while the balance is not
// zero; then it removes personal data and keeps the ledger.
func TestDeleteUserRefusesThenAnonymises(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	seedInventory(t, env)
	env.Fund(t, 100_000)
	admin, _ := env.As("admin")
	c, u := env.As("user")
	_, pair := env.Login(u)
	if _, err := c.AddSSHKey(ctx, "laptop", func() string { l, _ := newPubKey(t, "me@laptop"); return l }()); err != nil {
		t.Fatal(err)
	}
	id := createAllocWith(t, c)
	waitStatus(t, c, id, api.AllocationStatusActive)
	wantErr(t, admin.AdminDeleteUser(ctx, u.Id), http.StatusConflict, users.CodeUserHasAllocations)
	if _, err := c.ReleaseAllocation(ctx, id); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, id, api.AllocationStatusReleased)
	wantErr(t, admin.AdminDeleteUser(ctx, u.Id), http.StatusConflict, users.CodeUserHasBalance)
	bal, err := admin.AdminGetUserBalance(ctx, u.Id)
	if err != nil || bal.BalanceMinor == 0 {
		t.Fatalf("balance %+v %v", bal, err)
	}
	if _, err := admin.AdminAdjustBalance(ctx, u.Id, api.AdjustBalanceRequest{AmountMinor: -bal.BalanceMinor, Reason: "refund before deletion"}, uuid.NewString()); err != nil {
		t.Fatal(err)
	}
	if err := admin.AdminDeleteUser(ctx, u.Id); err != nil {
		t.Fatal(err)
	}
	got, err := admin.AdminGetUser(ctx, u.Id)
	if err != nil || got.DeletedAt == nil || strings.Contains(got.Username, u.Username) || strings.Contains(got.Email, u.Email) {
		t.Fatalf("deleted user %+v %v", got, err)
	}
	_, err = env.Client("").Login(ctx, u.Username, servertest.Password)
	wantErr(t, err, http.StatusUnauthorized, auth.CodeInvalidCredentials)
	_, err = env.Client(pair.AccessToken).Me(ctx)
	if e, ok := sdk.AsError(err); !ok || e.Status != http.StatusForbidden && e.Status != http.StatusUnauthorized {
		t.Fatalf("a deleted user's token: %v", err)
	}
	var keys, ledger int
	if err := env.App.Store.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM ssh_keys WHERE user_id = $1), (SELECT count(*) FROM ledger_transactions WHERE user_id = $1)`, u.Id).Scan(&keys, &ledger); err != nil {
		t.Fatal(err)
	}
	if keys != 0 || ledger == 0 {
		t.Fatalf("after delete: %d ssh keys (want 0), %d ledger transactions (want kept)", keys, ledger)
	}
	if rows := auditActions(t, admin, "user.delete", u.Id.String()); len(rows) != 1 {
		t.Fatalf("audit: %+v", rows)
	}
	wantErr(t, admin.AdminDeleteUser(ctx, u.Id), http.StatusNotFound, "not_found")
}

func TestAdminUpdatesEmailOrRoleAlone(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	admin, _ := env.As("admin")
	u := env.NewUser("user")
	other := env.NewUser("user")
	got, err := admin.AdminUpdateUser(ctx, u.Id, api.UpdateUserRequest{Email: ptr("new-address@example.com")})
	if err != nil || got.Email != "new-address@example.com" || got.Role != api.RoleUser {
		t.Fatalf("email alone: %+v %v", got, err)
	}
	_, err = admin.AdminUpdateUser(ctx, u.Id, api.UpdateUserRequest{Email: ptr(other.Email)})
	wantErr(t, err, http.StatusConflict, users.CodeEmailTaken)
	_, err = admin.AdminUpdateUser(ctx, u.Id, api.UpdateUserRequest{Email: ptr("not an address")})
	wantErr(t, err, http.StatusBadRequest, "invalid_request")
	_, err = admin.AdminUpdateUser(ctx, u.Id, api.UpdateUserRequest{})
	wantErr(t, err, http.StatusBadRequest, "invalid_request")
	got, err = admin.AdminUpdateUser(ctx, u.Id, api.UpdateUserRequest{Role: ptr(api.RoleAdmin), Email: ptr("both@example.com")})
	if err != nil || got.Email != "both@example.com" || got.Role != api.RoleAdmin {
		t.Fatalf("both: %+v %v", got, err)
	}
	if rows := auditActions(t, admin, "user.email_change", u.Id.String()); len(rows) != 2 {
		t.Fatalf("email audit: %+v", rows)
	}
}

func TestAdminGetsAnyAllocationWithItsOwner(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	seedInventory(t, env)
	env.Fund(t, 100_000)
	admin, _ := env.As("admin")
	c, u := env.As("user")
	id := createAllocWith(t, c)
	got, err := admin.AdminGetAllocation(ctx, id)
	if err != nil || got.Id != id || got.Owner == nil || got.Owner.Id != u.Id || got.Owner.Username != u.Username {
		t.Fatalf("admin get: %+v %v", got, err)
	}
	if mine, err := c.GetAllocation(ctx, id); err != nil || mine.Owner != nil {
		t.Fatalf("the owner's own view carries owner: %+v %v", mine, err)
	}
	_, err = c.AdminGetAllocation(ctx, id)
	wantErr(t, err, http.StatusForbidden, "forbidden")
	_, err = admin.AdminGetAllocation(ctx, uuid.New())
	wantErr(t, err, http.StatusNotFound, "not_found")
}
