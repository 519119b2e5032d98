package server_test

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/sdk"
)

// getJSON sends GET path through c and decodes a 200 body into out; any
// other status fails the test.
func getJSON(t *testing.T, c *sdk.Client, path string, out any) {
	t.Helper()
	resp, err := c.Do(ctx, "GET", path, nil, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, b)
	}
}

// wantStatus fails unless GET path answers status with code in the envelope.
func wantStatus(t *testing.T, c *sdk.Client, path string, status int, code string) {
	t.Helper()
	got, body, _ := raw(t, c, "GET", path, "", nil)
	if got != status || body["code"] != code {
		t.Fatalf("GET %s: %d %v, want %d %s", path, got, body, status, code)
	}
}

// pages follows next_cursor from base (which has its own query) until the
// end and returns every item, failing on a repeated one.
func pages[T any](t *testing.T, c *sdk.Client, base string, id func(T) string) []T {
	t.Helper()
	var all []T
	seen := map[string]bool{}
	cursor := ""
	for n := 0; ; n++ {
		path := base + "&page_size=2"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		var page struct {
			Items      []T    `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		getJSON(t, c, path, &page)
		for _, it := range page.Items {
			if seen[id(it)] {
				t.Fatalf("%s: %s on two pages", base, id(it))
			}
			seen[id(it)] = true
		}
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all
		}
		cursor = page.NextCursor
		if n > 20 {
			t.Fatalf("%s: paging does not end", base)
		}
	}
}

func usernames(us []api.User) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.Username
	}
	sort.Strings(out)
	return out
}

func TestAdminListUsersFiltersBySearchAndRole(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	admin, _ := env.As("admin")
	mk := func(name, email string, role api.Role) {
		t.Helper()
		if _, err := admin.AdminCreateUser(ctx, api.CreateUserRequest{
			Username: name, Email: email, Password: "a long enough passphrase", Role: role,
		}); err != nil {
			t.Fatal(err)
		}
	}
	mk("ada-lovelace", "ada@analytical.example", api.RoleUser)
	mk("grace", "Grace.Hopper@Navy.example", api.RoleUser)
	mk("alan", "alan@bletchley.example", api.RoleAdmin)
	mk("under_score", "us@example.org", api.RoleUser)
	for _, n := range []string{"batch1", "batch2", "batch3", "batch4", "batch5"} {
		mk(n, n+"@batch.example", api.RoleUser)
	}

	list := func(query string) []string {
		t.Helper()
		var l api.UserList
		getJSON(t, admin, "/api/v1/admin/users?"+query, &l)
		return usernames(l.Items)
	}
	for query, want := range map[string][]string{
		"q=LoveLace": {"ada-lovelace"},
		"q=" + url.QueryEscape("  navy.EXAMPLE "): {"grace"},
		"q=bletchley":       {"alan"},
		"role=admin&q=al":   {"alan"},
		"role=user&q=al":    {"ada-lovelace"}, // analytical
		"q=_":               {"under_score"},  // not a LIKE wildcard
		"q=%25":             nil,
		"q=nobody-has-this": nil,
	} {
		if got := list(query); !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("%s: got %v, want %v", query, got, want)
		}
	}
	// role=admin: alan and the admin calling; every item is an admin.
	var admins api.UserList
	getJSON(t, admin, "/api/v1/admin/users?role=admin", &admins)
	if len(admins.Items) != 2 {
		t.Fatalf("role=admin: %v", usernames(admins.Items))
	}
	for _, u := range admins.Items {
		if u.Role != api.RoleAdmin {
			t.Fatalf("role=admin gave %+v", u)
		}
	}
	// An empty (or blank) q matches everyone: 9 made here and the admin.
	if got := list("q=" + url.QueryEscape("   ")); len(got) != 10 {
		t.Fatalf("blank q: %v", got)
	}

	// Paging under a filter: the cursor keeps the keyset, so five matches
	// come in three pages of two with none repeated or left out.
	got := pages(t, admin, "/api/v1/admin/users?q=BATCH&role=user", func(u api.User) string { return u.Id.String() })
	if names := usernames(got); !reflect.DeepEqual(names, []string{"batch1", "batch2", "batch3", "batch4", "batch5"}) {
		t.Fatalf("paged batch users: %v", names)
	}

	// 100 characters (after trimming) are fine; 101 are not.
	list("q=" + url.QueryEscape(" "+strings.Repeat("x", 100)+" "))
	wantStatus(t, admin, "/api/v1/admin/users?q="+strings.Repeat("x", 101), 400, "invalid_request")
	wantStatus(t, admin, "/api/v1/admin/users?role=root", 400, "invalid_request")
	wantStatus(t, admin, "/api/v1/admin/users?role=ADMIN", 400, "invalid_request")

	user, _ := env.As("user")
	wantStatus(t, user, "/api/v1/admin/users?q=ada&role=user", 403, "forbidden")
}

func TestAdminListNodesSearchesHostnames(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	seedInventory(t, env) // node-a, node-b, node-c
	admin, _ := env.As("admin")
	hosts := func(ns []api.Node) []string {
		out := make([]string, len(ns))
		for i, n := range ns {
			out[i] = n.Hostname
		}
		return out
	}
	for query, want := range map[string][]string{
		"q=NODE-B":                       {"node-b"},
		"q=" + url.QueryEscape(" de-c "): {"node-c"},
		"q=node&status=offline":          {"node-c"},
		"q=_":                            {},
		"q=%25":                          {},
		"q=node&admin_state=disabled":    {},
		"q=":                             {"node-a", "node-b", "node-c"},
	} {
		var l api.NodeList
		getJSON(t, admin, "/api/v1/admin/nodes?"+query, &l)
		if got := hosts(l.Items); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v, want %v", query, got, want)
		}
	}
	got := pages(t, admin, "/api/v1/admin/nodes?q=NODE", func(n api.Node) string { return n.Id.String() })
	if h := hosts(got); !reflect.DeepEqual(h, []string{"node-a", "node-b", "node-c"}) {
		t.Fatalf("paged nodes: %v", h)
	}
	wantStatus(t, admin, "/api/v1/admin/nodes?q="+strings.Repeat("n", 101), 400, "invalid_request")
	user, _ := env.As("user")
	wantStatus(t, user, "/api/v1/admin/nodes?q=node", 403, "forbidden")
}

func TestAdminListAllocationsByNode(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	seedInventory(t, env)
	env.Fund(t, 1_000_000)
	admin, _ := env.As("admin")
	c1, u1 := env.As("user")
	c2, _ := env.As("user")
	// Two one-GPU allocations each; node-a and node-b are online with room,
	// wherever placement puts them.
	for _, c := range []*sdk.Client{c1, c1, c2, c2} {
		if _, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1"}, ""); err != nil {
			t.Fatal(err)
		}
	}
	all, err := admin.AdminListAllocations(ctx, api.AdminListAllocationsParams{})
	if err != nil || len(all.Items) != 4 {
		t.Fatalf("all allocations: %d %v", len(all.Items), err)
	}
	byNode := map[uuid.UUID][]string{}
	for _, a := range all.Items {
		if a.NodeId == nil {
			t.Fatalf("allocation %s was not placed", a.Id)
		}
		byNode[*a.NodeId] = append(byNode[*a.NodeId], a.Id.String())
	}
	ids := func(as []api.Allocation) []string {
		out := make([]string, len(as))
		for i, a := range as {
			out[i] = a.Id.String()
		}
		sort.Strings(out)
		return out
	}
	for _, host := range []string{"node-a", "node-b", "node-c"} {
		node := nodeID(t, env, host)
		want := byNode[node]
		sort.Strings(want)
		got := pages(t, admin, "/api/v1/admin/allocations?node_id="+node.String(),
			func(a api.Allocation) string { return a.Id.String() })
		for _, a := range got {
			if a.NodeId == nil || *a.NodeId != node {
				t.Fatalf("node_id=%s gave %+v", host, a)
			}
		}
		if g := ids(got); len(g) != len(want) || (len(want) > 0 && !reflect.DeepEqual(g, want)) {
			t.Fatalf("node_id=%s: got %v, want %v", host, g, want)
		}
		// With user_id as well: that user's allocations on that node only.
		var mine api.AllocationList
		getJSON(t, admin, "/api/v1/admin/allocations?node_id="+node.String()+"&user_id="+u1.Id.String(), &mine)
		for _, a := range mine.Items {
			if a.UserId != u1.Id || *a.NodeId != node {
				t.Fatalf("node_id+user_id gave %+v", a)
			}
		}
	}
	var none api.AllocationList
	getJSON(t, admin, "/api/v1/admin/allocations?node_id="+uuid.NewString(), &none)
	if len(none.Items) != 0 {
		t.Fatalf("unknown node: %+v", none.Items)
	}
	getJSON(t, admin, "/api/v1/admin/allocations?status=released&node_id="+nodeID(t, env, "node-a").String(), &none)
	if len(none.Items) != 0 {
		t.Fatalf("released on node-a: %+v", none.Items)
	}
	wantStatus(t, admin, "/api/v1/admin/allocations?node_id=node-a", 400, "invalid_request")
	wantStatus(t, admin, "/api/v1/admin/allocations?user_id=nope", 400, "invalid_request")
	wantStatus(t, c1, "/api/v1/admin/allocations?node_id="+nodeID(t, env, "node-a").String(), 403, "forbidden")
}

func TestAdminAuditLogsByTargetType(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	seedInventory(t, env)
	admin, adminUser := env.As("admin")
	for _, n := range []string{"tt1", "tt2", "tt3"} {
		if _, err := admin.AdminCreateUser(ctx, api.CreateUserRequest{
			Username: n, Email: n + "@example.com", Password: "a long enough passphrase", Role: api.RoleUser,
		}); err != nil {
			t.Fatal(err)
		}
	}
	node := nodeID(t, env, "node-b")
	if _, err := admin.AdminDisableNode(ctx, node); err != nil {
		t.Fatal(err)
	}

	logID := func(l api.AuditLog) string { return strconv.FormatInt(l.Id, 10) }
	nodes := pages(t, admin, "/api/v1/admin/audit-logs?target_type=node", logID)
	if len(nodes) != 1 || nodes[0].TargetType != "node" || nodes[0].TargetId != node.String() {
		t.Fatalf("target_type=node: %+v", nodes)
	}
	// Users created by this admin (the test's own users are made by the system).
	users := pages(t, admin, "/api/v1/admin/audit-logs?target_type=user&action=user.create&actor_user_id="+adminUser.Id.String(), logID)
	if len(users) != 3 {
		t.Fatalf("target_type=user: %+v", users)
	}
	for _, l := range users {
		if l.TargetType != "user" {
			t.Fatalf("target_type=user gave %+v", l)
		}
	}
	var none api.AuditLogList
	getJSON(t, admin, "/api/v1/admin/audit-logs?target_type=node&action=user.create", &none)
	if len(none.Items) != 0 {
		t.Fatalf("node and user.create: %+v", none.Items)
	}

	// The export takes the same filter.
	resp, err := admin.Do(ctx, "GET", "/api/v1/admin/audit-logs/export?target_type=node", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("export: %d %v", resp.StatusCode, err)
	}
	if len(rows) != 2 || rows[1][4] != "node" || rows[1][5] != node.String() {
		t.Fatalf("export rows %v", rows)
	}

	user, _ := env.As("user")
	wantStatus(t, user, "/api/v1/admin/audit-logs?target_type=node", 403, "forbidden")
	if status, _, _ := raw(t, user, "GET", "/api/v1/admin/audit-logs/export?target_type=node", "", nil); status != 403 {
		t.Fatalf("export as user: %d", status)
	}
}

func TestAdminReadsUserBalanceAsTheUserSeesIt(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	admin, _ := env.As("admin")
	c, u := env.As("user")
	path := "/api/v1/admin/users/" + u.Id.String() + "/balance"

	// No ledger entries yet: zero, not 404.
	before, err := admin.AdminGetUserBalance(ctx, u.Id)
	if err != nil {
		t.Fatal(err)
	}
	if before.UserId != u.Id || before.BalanceMinor != 0 || before.Currency != "USD" {
		t.Fatalf("fresh user: %+v", before)
	}

	if _, err := admin.AdminAdjustBalance(ctx, u.Id, api.AdjustBalanceRequest{AmountMinor: 1234, Reason: "goodwill"}, "adj-1"); err != nil {
		t.Fatal(err)
	}
	seen, err := admin.AdminGetUserBalance(ctx, u.Id)
	if err != nil {
		t.Fatal(err)
	}
	own, err := c.Balance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(seen, own) || seen.BalanceMinor != 1234 {
		t.Fatalf("admin sees %+v, user sees %+v", seen, own)
	}

	wantStatus(t, admin, "/api/v1/admin/users/"+uuid.NewString()+"/balance", 404, "not_found")
	wantStatus(t, admin, "/api/v1/admin/users/nope/balance", 400, "invalid_request")
	wantStatus(t, c, path, 403, "forbidden")
	if status, _, _ := raw(t, env.Client(""), "GET", path, "", http.Header{}); status != 401 {
		t.Fatalf("anonymous: %d", status)
	}
}
