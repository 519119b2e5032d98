package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/sdk"
)

// TestTeamsCrossTenantMatrix holds every allocation, terminal, app, billing,
// storage and team route against four callers: the team's owner and member
// see and use the team's allocation; another team's member, a removed
// member and an outsider get 404, as if it did not exist. The team's
// balance pays, to the minor unit, and the member's own never moves.
func TestTeamsCrossTenantMatrix(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	seedInventory(t, env)
	admin, _ := env.As("admin")
	owner, ownerU := env.As("user")
	member, memberU := env.As("user")
	rival, _ := env.As("user")
	removed, removedU := env.As("user")
	outsider, _ := env.As("user")

	team, err := owner.CreateTeam(ctx, api.CreateTeamRequest{Slug: "lab", Name: "The Lab"})
	if err != nil || team.Role == nil || *team.Role != api.TeamRoleOwner || team.MemberCount != 1 {
		t.Fatalf("create team: %+v %v", team, err)
	}
	for _, u := range []api.User{memberU, removedU} {
		if _, err := owner.AddTeamMember(ctx, "lab", api.AddTeamMemberRequest{Username: u.Username}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := rival.CreateTeam(ctx, api.CreateTeamRequest{Slug: "rivals", Name: "Rivals"}); err != nil {
		t.Fatal(err)
	}
	// The slug shares the namespace of usernames.
	_, err = outsider.CreateTeam(ctx, api.CreateTeamRequest{Slug: ownerU.Username, Name: "squat"})
	wantErr(t, err, 409, "slug_taken")
	_, err = outsider.CreateTeam(ctx, api.CreateTeamRequest{Slug: "-bad-", Name: "x"})
	wantErr(t, err, 400, "invalid_request")

	// Only the team pays: the member has no credit of their own.
	_, err = member.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1", Team: ptr("lab")}, "")
	wantErr(t, err, 402, "insufficient_funds")
	for range 2 { // the same Idempotency-Key twice credits once
		if _, err := admin.AdminAdjustTeamBalance(ctx, "lab", api.AdjustBalanceRequest{AmountMinor: 100_000, Reason: "grant"}, "grant-1"); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := owner.TeamBalance(ctx, "lab"); err != nil || b.BalanceMinor != 100_000 {
		t.Fatalf("team balance %+v %v", b, err)
	}
	_, err = outsider.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1", Team: ptr("lab")}, "")
	wantErr(t, err, 404, "not_found")

	a, err := member.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1", Name: ptr("shared"), Team: ptr("lab")}, "team-create")
	if err != nil {
		t.Fatal(err)
	}
	if a.UserId != team.Id || a.TeamId == nil || *a.TeamId != team.Id || a.CreatedBy == nil || *a.CreatedBy != memberU.Id {
		t.Fatalf("team allocation %+v", a)
	}
	waitStatus(t, owner, a.Id, api.AllocationStatusActive)

	if err := owner.RemoveTeamMember(ctx, "lab", removedU.Username); err != nil {
		t.Fatal(err)
	}

	id := a.Id.String()
	routes := []struct {
		method, path, body string
		insider            int // what the owner and the member get
	}{
		{"GET", "/api/v1/allocations/" + id, "", 200},
		{"GET", "/api/v1/allocations?team=lab", "", 200},
		{"GET", "/api/v1/allocations/" + id + "/events", "", 200},
		{"GET", "/api/v1/allocations/" + id + "/metrics", "", 200},
		{"GET", "/api/v1/allocations/" + id + "/logs", "", 409}, // a shell has none: but it exists
		{"POST", "/api/v1/allocations/" + id + "/terminal-token", "", 201},
		{"POST", "/api/v1/allocations/" + id + "/apps/http/ticket", "", 404}, // a shell has no apps
		{"GET", "/api/v1/billing/balance?team=lab", "", 200},
		{"GET", "/api/v1/billing/usage?team=lab", "", 200},
		{"GET", "/api/v1/billing/usage/csv?team=lab", "", 200},
		{"GET", "/api/v1/billing/storage-charges?team=lab", "", 200},
		{"GET", "/api/v1/storage/usage?team=lab", "", 503}, // storage is off here: but the team is found first
		{"GET", "/api/v1/teams/lab", "", 200},
	}
	callers := []struct {
		name    string
		c       *sdk.Client
		insider bool
	}{{"owner", owner, true}, {"member", member, true}, {"other team's member", rival, false},
		{"removed member", removed, false}, {"outsider", outsider, false}}
	for _, r := range routes {
		for _, who := range callers {
			code, body, _ := raw(t, who.c, r.method, r.path, r.body, nil)
			want := http.StatusNotFound
			if who.insider {
				want = r.insider
			}
			if code != want {
				t.Errorf("%s %s as %s: %d %v, want %d", r.method, r.path, who.name, code, body, want)
			}
			if !who.insider && body["code"] != "not_found" {
				t.Errorf("%s %s as %s: code %v, want not_found", r.method, r.path, who.name, body["code"])
			}
		}
	}
	// Outsiders cannot tell a team they are not in from one that does not exist.
	for _, who := range callers[2:] {
		c1, b1, _ := raw(t, who.c, "GET", "/api/v1/teams/lab", "", nil)
		c2, b2, _ := raw(t, who.c, "GET", "/api/v1/teams/no-such-team", "", nil)
		if c1 != c2 || b1["message"] != b2["message"] {
			t.Errorf("%s: lab %d %v, missing %d %v", who.name, c1, b1, c2, b2)
		}
	}
	// Personal lists stay personal.
	if l, err := member.ListAllocations(ctx, api.ListAllocationsParams{}); err != nil || len(l.Items) != 0 {
		t.Fatalf("member's own list: %+v %v", l.Items, err)
	}
	if l, err := owner.ListAllocations(ctx, api.ListAllocationsParams{Team: ptr("lab")}); err != nil || len(l.Items) != 1 {
		t.Fatalf("team list: %+v %v", l.Items, err)
	}

	// Roles: a member cannot manage, the last owner cannot leave.
	_, err = member.AddTeamMember(ctx, "lab", api.AddTeamMemberRequest{Username: removedU.Username})
	wantErr(t, err, 403, "team_owner_required")
	_, err = member.UpdateTeam(ctx, "lab", api.UpdateTeamRequest{Name: "mine"})
	wantErr(t, err, 403, "team_owner_required")
	err = owner.RemoveTeamMember(ctx, "lab", ownerU.Username)
	wantErr(t, err, 409, "last_owner")
	_, err = owner.UpdateTeamMember(ctx, "lab", ownerU.Username, api.UpdateTeamMemberRequest{Role: api.TeamRoleMember})
	wantErr(t, err, 409, "last_owner")
	_, err = owner.AddTeamMember(ctx, "lab", api.AddTeamMemberRequest{Username: memberU.Username})
	wantErr(t, err, 409, "already_member")
	_, err = owner.AddTeamMember(ctx, "lab", api.AddTeamMemberRequest{Username: "rivals"}) // a team is not a person
	wantErr(t, err, 404, "not_found")

	// Another team's member, the removed member and an outsider cannot
	// release it; the member can.
	for _, c := range []*sdk.Client{rival, removed, outsider} {
		_, err := c.ReleaseAllocation(ctx, a.Id)
		wantErr(t, err, 404, "not_found")
	}
	if _, err := member.ReleaseAllocation(ctx, a.Id); err != nil {
		t.Fatal(err)
	}
	done := waitStatus(t, owner, a.Id, api.AllocationStatusReleased)

	// The team paid exactly its usage; the member paid nothing.
	usage, err := owner.ListUsage(ctx, api.ListUsageParams{Team: ptr("lab")})
	if err != nil || len(usage.Items) != 1 {
		t.Fatalf("team usage %+v %v", usage, err)
	}
	bal, err := owner.TeamBalance(ctx, "lab")
	if err != nil || bal.BalanceMinor != 100_000-usage.Items[0].AmountMinor {
		t.Fatalf("team balance %+v after %d of usage (%v)", bal, usage.Items[0].AmountMinor, err)
	}
	if adminView, err := admin.AdminTeamBalance(ctx, "lab"); err != nil || adminView.BalanceMinor != bal.BalanceMinor {
		t.Fatalf("admin view %+v %v", adminView, err)
	}
	mine, err := member.Balance(ctx)
	if err != nil || mine.BalanceMinor != 0 {
		t.Fatalf("member's own balance %+v %v", mine, err)
	}
	if u, err := member.ListUsage(ctx, api.ListUsageParams{}); err != nil || len(u.Items) != 0 {
		t.Fatalf("member's own usage %+v %v", u.Items, err)
	}
	// Both members heard about it; the removed member did not.
	heard := func(c *sdk.Client) bool {
		l, err := c.ListNotifications(ctx, api.ListNotificationsParams{})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range l.Items {
			if n.AllocationId != nil && *n.AllocationId == done.Id && strings.Contains(n.Kind, "released") {
				return true
			}
		}
		return false
	}
	eventuallyT(t, 15*time.Second, "team members notified", func() bool { return heard(owner) && heard(member) })
	if heard(removed) {
		t.Fatal("a removed member was told about the team's allocation")
	}
	// The team is not a user: it cannot sign in, nor appear among users.
	users, err := admin.AdminListUsers(ctx, api.AdminListUsersParams{Q: ptr("lab")})
	if err != nil || len(users.Items) != 0 {
		t.Fatalf("admin users search for the team: %+v %v", users.Items, err)
	}
	_, err = admin.AdminGetUser(ctx, team.Id)
	wantErr(t, err, 404, "not_found")
}

// TestTeamLimitsCountTheTeam: a team's spend limits hold for the team's
// allocations whoever launches them, and not for its members' own.
func TestTeamLimitsCountTheTeam(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	seedInventory(t, env)
	admin, _ := env.As("admin")
	env.Fund(t, 100_000)
	owner, _ := env.As("user")
	member, memberU := env.As("user")
	if _, err := owner.CreateTeam(ctx, api.CreateTeamRequest{Slug: "capped", Name: "Capped"}); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.AddTeamMember(ctx, "capped", api.AddTeamMemberRequest{Username: memberU.Username}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.AdminAdjustTeamBalance(ctx, "capped", api.AdjustBalanceRequest{AmountMinor: 100_000, Reason: "grant"}, "g"); err != nil {
		t.Fatal(err)
	}
	if code, body, _ := raw(t, admin, "PUT", "/api/v1/admin/teams/capped/limits", `{"max_concurrent_gpus":1}`, nil); code != 200 {
		t.Fatalf("set team limits: %d %v", code, body)
	}
	if _, err := owner.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1", Team: ptr("capped")}, ""); err != nil {
		t.Fatal(err)
	}
	_, err := member.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1", Team: ptr("capped")}, "")
	wantErr(t, err, 409, "quota_exceeded")
	// The member's own account is not the team's: its limit does not apply.
	if _, err := member.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1"}, ""); err != nil {
		t.Fatalf("the member's own create: %v", err)
	}
	code, body, _ := raw(t, member, "GET", "/api/v1/billing/limits?team=capped", "", nil)
	if code != 200 || body["max_concurrent_gpus"] != float64(1) || body["gpus_in_use"] != float64(1) {
		t.Fatalf("team limits as a member sees them: %d %v", code, body)
	}
}
