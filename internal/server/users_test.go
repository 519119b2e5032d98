package server_test

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
)

func TestAdminCreatesUserWhoCanLogIn(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	admin, _ := env.As("admin")
	u, err := admin.AdminCreateUser(ctx, api.CreateUserRequest{
		Username: "Ada", Email: "ada@example.com", Password: "analytical engine 1843", Role: api.RoleUser,
	})
	if err != nil {
		t.Fatal(err)
	}
	if u.Username != "ada" || u.Role != api.RoleUser {
		t.Fatalf("created %+v", u)
	}
	pair, err := env.Client("").Login(ctx, "ada", "analytical engine 1843")
	if err != nil {
		t.Fatal(err)
	}
	me, err := env.Client(pair.AccessToken).Me(ctx)
	if err != nil || me.Id != u.Id {
		t.Fatalf("me %+v %v", me, err)
	}
	got, err := admin.AdminGetUser(ctx, u.Id)
	if err != nil || got != u {
		t.Fatalf("get %+v %v", got, err)
	}
	_, err = admin.AdminGetUser(ctx, uuid.New())
	wantErr(t, err, 404, "not_found")
	status, body, _ := raw(t, admin, "GET", "/api/v1/admin/users/12345", "", nil)
	if status != 400 || body["code"] != "invalid_request" {
		t.Fatalf("bad uuid: %d %v", status, body)
	}

	for name, c := range map[string]struct {
		req    api.CreateUserRequest
		status int
		code   string
	}{
		"duplicate username": {api.CreateUserRequest{Username: "ADA", Email: "other@example.com", Password: "another long passphrase", Role: api.RoleUser}, 409, "username_taken"},
		"duplicate email":    {api.CreateUserRequest{Username: "ada2", Email: "ADA@example.com", Password: "another long passphrase", Role: api.RoleUser}, 409, "email_taken"},
		"short password":     {api.CreateUserRequest{Username: "bob", Email: "bob@example.com", Password: "short", Role: api.RoleUser}, 400, "weak_password"},
		"common password":    {api.CreateUserRequest{Username: "bob", Email: "bob@example.com", Password: "password1234", Role: api.RoleUser}, 400, "weak_password"},
		"bad role":           {api.CreateUserRequest{Username: "bob", Email: "bob@example.com", Password: "another long passphrase", Role: "root"}, 400, "invalid_request"},
		"bad email":          {api.CreateUserRequest{Username: "bob", Email: "not an email", Password: "another long passphrase", Role: api.RoleUser}, 400, "invalid_request"},
		"bad username":       {api.CreateUserRequest{Username: "bob smith!", Email: "bob@example.com", Password: "another long passphrase", Role: api.RoleUser}, 400, "invalid_request"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := admin.AdminCreateUser(ctx, c.req)
			wantErr(t, err, c.status, c.code)
		})
	}
	status, body, _ = raw(t, admin, "POST", "/api/v1/admin/users", `{"username":"x","email":"x@y.z","password":"long enough password","role":"user","is_admin":true}`, nil)
	if status != 400 || body["code"] != "invalid_request" {
		t.Fatalf("unknown field: %d %v", status, body)
	}
}

func TestAdminListsUsersByPage(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	admin, _ := env.As("admin")
	for i := 0; i < 4; i++ {
		env.NewUser("user")
	}
	seen := map[uuid.UUID]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		p := api.AdminListUsersParams{PageSize: ptr(2)}
		if cursor != "" {
			p.Cursor = &cursor
		}
		list, err := admin.AdminListUsers(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range list.Items {
			if seen[u.Id] {
				t.Fatalf("user %s on two pages", u.Username)
			}
			seen[u.Id] = true
		}
		if list.NextCursor == "" {
			break
		}
		cursor = list.NextCursor
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != 5 {
		t.Fatalf("saw %d users, want 5", len(seen))
	}
	status, body, _ := raw(t, admin, "GET", "/api/v1/admin/users?cursor=forged", "", nil)
	if status != 400 || body["code"] != "invalid_request" {
		t.Fatalf("forged cursor: %d %v", status, body)
	}
	status, _, _ = raw(t, admin, "GET", "/api/v1/admin/users?page_size=500", "", nil)
	if status != 400 {
		t.Fatalf("page_size 500: %d", status)
	}
}

func TestAuditFiltersAndCorrelation(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	admin, adminUser := env.As("admin")
	hdr := http.Header{"X-Request-ID": {"req-audit-1"}}
	status, body, _ := raw(t, admin, "POST", "/api/v1/admin/users",
		`{"username":"carol","email":"carol@example.com","password":"a long enough phrase","role":"user"}`, hdr)
	if status != 201 {
		t.Fatalf("create: %d %v", status, body)
	}
	logs, err := admin.AdminListAuditLogs(ctx, api.AdminListAuditLogsParams{Action: ptr("user.create"), ActorUserId: &adminUser.Id})
	if err != nil {
		t.Fatal(err)
	}
	if len(logs.Items) != 1 || logs.Items[0].CorrelationId != "req-audit-1" || logs.Items[0].TargetId != body["id"] {
		t.Fatalf("audit rows %+v", logs.Items)
	}
	// Time range: nothing before the epoch of this test.
	old, err := admin.AdminListAuditLogs(ctx, api.AdminListAuditLogsParams{Until: ptr(logs.Items[0].OccurredAt.Add(-60e9))})
	if err != nil || len(old.Items) != 0 {
		t.Fatalf("until filter: %+v %v", old, err)
	}
	for _, q := range []string{"actor_user_id=nope", "since=yesterday", "until=2026-13-01T00:00:00Z"} {
		status, _, _ := raw(t, admin, "GET", "/api/v1/admin/audit-logs?"+q, "", nil)
		if status != 400 {
			t.Fatalf("%s: %d", q, status)
		}
	}
}

func TestAuditExportNeutralisesFormulas(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	admin, _ := env.As("admin")
	// An attacker controls the username of a failed login, which is audited.
	for _, evil := range []string{"=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)"} {
		_, _ = env.Client("").Login(ctx, evil, "whatever password here")
	}
	exec(t, env, `UPDATE audit_logs SET target_id = '=cmd|'' /C calc''!A0' WHERE action = 'auth.login_failed'`)
	var buf strings.Builder
	if _, err := admin.AdminExportAuditLogs(ctx, api.AdminExportAuditLogsParams{Action: ptr("auth.login_failed")}, &buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(buf.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 || rows[0][0] != "id" {
		t.Fatalf("want header + 4 rows, got %d: %v", len(rows), rows)
	}
	for _, row := range rows[1:] {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Fatalf("formula cell survived: %q", cell)
			}
		}
	}
	// The export streams with the CSV content type.
	resp, err := admin.Do(ctx, "GET", "/api/v1/admin/audit-logs/export", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
	}
}
