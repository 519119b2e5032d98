package server_test

import (
	"net/http"
	"testing"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
)

// The audit log is searchable by category and action prefix, names every
// action, counts what matches, and finds a force release by name.
func TestAuditSearchByCategoryPrefixAndName(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	seedInventory(t, env)
	env.Fund(t, 100_000)
	admin, _ := env.As("admin")
	c, _ := env.As("user")
	id := createAllocWith(t, c)
	waitStatus(t, c, id, api.AllocationStatusActive)
	if _, err := admin.AdminForceRelease(ctx, id, "maintenance"); err != nil {
		t.Fatal(err)
	}
	// The release goes on in the background and audits its steps: let it
	// finish, so the total cannot grow between the two pages.
	waitStatus(t, c, id, api.AllocationStatusReleased)

	cat := api.AdminListAuditLogsParamsCategory("allocation")
	all, err := admin.AdminListAuditLogs(ctx, api.AdminListAuditLogsParams{Category: &cat, PageSize: ptr(1)})
	if err != nil {
		t.Fatal(err)
	}
	// requested, provisioning, active, releasing, and the force release
	if all.Total < 5 || len(all.Items) != 1 || all.NextCursor == "" {
		t.Fatalf("category allocation: total %d, %d items, cursor %q", all.Total, len(all.Items), all.NextCursor)
	}
	for _, row := range all.Items {
		if row.Category != "allocation" || row.ActionLabel == "" {
			t.Fatalf("row %+v", row)
		}
	}
	next, err := admin.AdminListAuditLogs(ctx, api.AdminListAuditLogsParams{Category: &cat, PageSize: ptr(1), Cursor: &all.NextCursor})
	if err != nil || next.Total != all.Total {
		t.Fatalf("second page total %d, want %d (%v)", next.Total, all.Total, err)
	}

	forced, err := admin.AdminListAuditLogs(ctx, api.AdminListAuditLogsParams{ActionPrefix: ptr("allocation.force")})
	if err != nil || forced.Total != 1 || len(forced.Items) != 1 {
		t.Fatalf("force releases: %+v %v", forced, err)
	}
	if row := forced.Items[0]; row.Action != "allocation.force_release" || row.ActionLabel != "Force release" ||
		row.TargetId != id.String() || row.Metadata["reason"] != "admin: maintenance" {
		t.Fatalf("force release row %+v", row)
	}
	// A category and a prefix that disagree match nothing.
	none, err := admin.AdminListAuditLogs(ctx, api.AdminListAuditLogsParams{Category: &cat, ActionPrefix: ptr("auth.")})
	if err != nil || none.Total != 0 || len(none.Items) != 0 {
		t.Fatalf("disagreeing filters: %+v %v", none, err)
	}
	authCat := api.AdminListAuditLogsParamsCategory("auth")
	logins, err := admin.AdminListAuditLogs(ctx, api.AdminListAuditLogsParams{Category: &authCat})
	if err != nil || logins.Total < 2 {
		t.Fatalf("auth category: %+v %v", logins, err)
	}
	for _, row := range logins.Items {
		if row.Action != "auth.login" || row.ActionLabel != "Sign-in" {
			t.Fatalf("auth row %+v", row)
		}
	}

	actions, err := admin.AdminListAuditActions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range actions.Items {
		if a.Label == "" || a.Category == "" || a.CategoryLabel == "" {
			t.Fatalf("catalogue entry %+v", a)
		}
		found = found || a.Action == "allocation.force_release" && a.Label == "Force release"
	}
	if !found {
		t.Fatal("force release missing from the catalogue")
	}

	for _, q := range []string{"category=everything", "action_prefix=alloc%25", "action_prefix=A"} {
		wantStatus(t, admin, "/api/v1/admin/audit-logs?"+q, http.StatusBadRequest, "invalid_request")
		if status, _, _ := raw(t, admin, "GET", "/api/v1/admin/audit-logs/export?"+q, "", nil); status != http.StatusBadRequest {
			t.Fatalf("export %s: %d", q, status)
		}
	}
	wantStatus(t, c, "/api/v1/admin/audit-actions", http.StatusForbidden, "forbidden")
}
