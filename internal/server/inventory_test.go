package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/inventory"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/internal/store/dbtest"
)

const h100 = "NVIDIA H100 80GB HBM3"

// seedInventory adds a region, two SKUs and nodes: node-a online with 8
// H100 (one unhealthy), node-b online with 2 H100, node-c offline.
func seedInventory(t testing.TB, env *servertest.Env) {
	t.Helper()
	inv := env.App.Inventory
	must(t, inv.SeedRegion(ctx, inventory.Region{ID: "test-1", Name: "Test"}))
	for _, k := range []api.SKU{
		{Id: "h100-x1", Name: "H100 ×1", GpuModel: h100, GpuCount: 1, GpuMemoryMib: 81559, Vcpu: 16, MemoryMib: 196608, DiskGib: 500, PricePerHourMinor: 249, Currency: "USD", Region: "test-1", Active: true},
		{Id: "h100-x8", Name: "H100 ×8", GpuModel: h100, GpuCount: 8, GpuMemoryMib: 81559, Vcpu: 128, MemoryMib: 1572864, DiskGib: 4000, PricePerHourMinor: 1992, Currency: "USD", Region: "test-1", Active: true},
		{Id: "old", Name: "retired", GpuModel: h100, GpuCount: 1, Currency: "USD", Region: "test-1", Active: false},
	} {
		must(t, inv.SeedSKU(ctx, k))
	}
	gpus := func(host string, n int) []inventory.GPUSpec {
		var out []inventory.GPUSpec
		for i := 0; i < n; i++ {
			out = append(out, inventory.GPUSpec{Index: i, UUID: fmt.Sprintf("GPU-%s-%d", host, i), Model: h100, MemoryMiB: 81559})
		}
		return out
	}
	for host, n := range map[string]int{"node-a": 8, "node-b": 2, "node-c": 4} {
		if _, err := inv.SeedNode(ctx, host, "test-1", gpus(host, n)); err != nil {
			t.Fatal(err)
		}
	}
	exec(t, env, `UPDATE gpus SET health = 'unhealthy', health_reason = 'uncorrected ECC' WHERE uuid = 'GPU-node-a-7'`)
	exec(t, env, `UPDATE nodes SET status = 'offline' WHERE hostname = 'node-c'`)
}

func exec(t testing.TB, env *servertest.Env, sql string, args ...any) {
	t.Helper()
	if _, err := env.App.Store.Pool().Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestSKUsShowFreeCapacity(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	seedInventory(t, env)
	c, _ := env.As("user")
	list, err := c.ListSKUs(ctx, api.ListSkusParams{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, s := range list.Items {
		got[s.Id] = s.Available
	}
	// node-a: 7 healthy free, node-b: 2; node-c is offline; "old" is inactive.
	if len(got) != 2 || got["h100-x1"] != 9 || got["h100-x8"] != 0 {
		t.Fatalf("availability %v", got)
	}
	// Allocated GPUs do not count; neither do nodes in maintenance.
	holdGPU(t, env, "GPU-node-b-0")
	exec(t, env, `UPDATE nodes SET admin_state = 'maintenance' WHERE hostname = 'node-a'`)
	list, _ = c.ListSKUs(ctx, api.ListSkusParams{})
	for _, s := range list.Items {
		if s.Id == "h100-x1" && s.Available != 1 {
			t.Fatalf("h100-x1 available %d, want 1", s.Available)
		}
	}
	// Paging walks every SKU once.
	p1, err := c.ListSKUs(ctx, api.ListSkusParams{PageSize: ptr(1)})
	if err != nil || len(p1.Items) != 1 || p1.NextCursor == "" {
		t.Fatalf("page 1: %+v %v", p1, err)
	}
	p2, err := c.ListSKUs(ctx, api.ListSkusParams{PageSize: ptr(1), Cursor: &p1.NextCursor})
	if err != nil || len(p2.Items) != 1 || p2.NextCursor != "" || p2.Items[0].Id == p1.Items[0].Id {
		t.Fatalf("page 2: %+v %v", p2, err)
	}
}

func TestUserNodeListFilters(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	seedInventory(t, env)
	c, _ := env.As("user")
	online, err := c.ListNodes(ctx, api.ListNodesParams{Status: ptr(api.NodeStatusOnline)})
	if err != nil || len(online.Items) != 2 {
		t.Fatalf("online nodes: %d %v", len(online.Items), err)
	}
	for _, n := range online.Items {
		if n.Hostname == "node-a" {
			if len(n.Gpus) != 8 || n.Gpus[7].Health != api.GPUHealthUnhealthy || *n.Gpus[7].HealthReason != "uncorrected ECC" {
				t.Fatalf("node-a gpus: %+v", n.Gpus)
			}
		}
	}
	none, err := c.ListNodes(ctx, api.ListNodesParams{Region: ptr("elsewhere")})
	if err != nil || len(none.Items) != 0 {
		t.Fatalf("other region: %+v %v", none, err)
	}
	status, body, _ := raw(t, c, "GET", "/api/v1/nodes?status=sideways", "", nil)
	if status != 400 || body["code"] != "invalid_request" {
		t.Fatalf("bad status filter: %d %v", status, body)
	}
	// Users do not see disabled nodes; admins do.
	exec(t, env, `UPDATE nodes SET admin_state = 'disabled' WHERE hostname = 'node-c'`)
	all, _ := c.ListNodes(ctx, api.ListNodesParams{})
	if len(all.Items) != 2 {
		t.Fatalf("user sees %d nodes", len(all.Items))
	}
	admin, _ := env.As("admin")
	adminAll, _ := admin.AdminListNodes(ctx, api.AdminListNodesParams{})
	if len(adminAll.Items) != 3 {
		t.Fatalf("admin sees %d nodes", len(adminAll.Items))
	}
}

func TestAdminNodeLifecycle(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	seedInventory(t, env)
	admin, adminUser := env.As("admin")
	node, err := admin.AdminCreateNode(ctx, api.CreateNodeRequest{Hostname: "GPU-Host-01.example.com", Region: "test-1",
		Labels: &map[string]string{"rack": "r12"}})
	if err != nil {
		t.Fatal(err)
	}
	if node.Hostname != "gpu-host-01.example.com" || node.Status != api.NodeStatusOffline || node.AdminState != api.NodeAdminStateActive || len(node.Gpus) != 0 {
		t.Fatalf("created node: %+v", node)
	}
	_, err = admin.AdminCreateNode(ctx, api.CreateNodeRequest{Hostname: "gpu-host-01.example.com", Region: "test-1"})
	wantErr(t, err, 409, "duplicate_hostname")
	_, err = admin.AdminCreateNode(ctx, api.CreateNodeRequest{Hostname: "x", Region: "nowhere"})
	wantErr(t, err, 400, "unknown_region")
	for _, bad := range []string{"", "-lead", "under_score", "a..b", strings.Repeat("a", 64), "spaces here", "../etc"} {
		_, err = admin.AdminCreateNode(ctx, api.CreateNodeRequest{Hostname: bad, Region: "test-1"})
		wantErr(t, err, 400, "invalid_request")
	}
	tooMany := map[string]string{}
	for i := 0; i < 33; i++ {
		tooMany[fmt.Sprintf("k%d", i)] = "v"
	}
	_, err = admin.AdminCreateNode(ctx, api.CreateNodeRequest{Hostname: "labels", Region: "test-1", Labels: &tooMany})
	wantErr(t, err, 400, "invalid_request")

	disabled, err := admin.AdminDisableNode(ctx, node.Id)
	if err != nil || disabled.AdminState != api.NodeAdminStateDisabled {
		t.Fatalf("disable: %+v %v", disabled, err)
	}
	// Disabling twice is a no-op.
	if _, err := admin.AdminDisableNode(ctx, node.Id); err != nil {
		t.Fatal(err)
	}
	enabled, err := admin.AdminEnableNode(ctx, node.Id)
	if err != nil || enabled.AdminState != api.NodeAdminStateActive {
		t.Fatalf("enable: %+v %v", enabled, err)
	}

	// A node with an allocated GPU cannot be disabled.
	var nodeB uuid.UUID
	must(t, env.App.Store.Pool().QueryRow(ctx, `SELECT id FROM nodes WHERE hostname = 'node-b'`).Scan(&nodeB))
	holdGPU(t, env, "GPU-node-b-1")
	_, err = admin.AdminDisableNode(ctx, nodeB)
	wantErr(t, err, 409, "node_in_use")

	_, err = admin.AdminDisableNode(ctx, uuid.New())
	wantErr(t, err, 404, "not_found")
	_, err = admin.AdminEnableNode(ctx, uuid.New())
	wantErr(t, err, 404, "not_found")
	for _, path := range []string{"/api/v1/admin/nodes/not-a-uuid", "/api/v1/admin/nodes/1"} {
		status, body, _ := raw(t, admin, "DELETE", path, "", nil)
		if status != 400 || body["code"] != "invalid_request" {
			t.Fatalf("DELETE %s: %d %v", path, status, body)
		}
	}
	status, _, _ := raw(t, admin, "POST", "/api/v1/admin/nodes/zzz/enable", "", nil)
	if status != 400 {
		t.Fatalf("enable bad uuid: %d", status)
	}

	// Each change is audited with its actor.
	logs, err := admin.AdminListAuditLogs(ctx, api.AdminListAuditLogsParams{TargetId: ptr(node.Id.String())})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, l := range logs.Items {
		actions = append(actions, l.Action)
		if l.ActorUserId == nil || *l.ActorUserId != adminUser.Id {
			t.Fatalf("audit actor: %+v", l)
		}
	}
	if strings.Join(actions, ",") != "node.enable,node.disable,node.create" {
		t.Fatalf("audit actions %v", actions)
	}
}

func TestAdminNodeHostileBodies(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	seedInventory(t, env)
	admin, _ := env.As("admin")
	cases := map[string]struct {
		body   string
		status int
		code   string
	}{
		"unknown field":    {`{"hostname":"h1","region":"test-1","sku":"x"}`, 400, "invalid_request"},
		"wrong type":       {`{"hostname":12,"region":"test-1"}`, 400, "invalid_request"},
		"labels not map":   {`{"hostname":"h1","region":"test-1","labels":["a"]}`, 400, "invalid_request"},
		"malformed":        {`{"hostname":"h1",`, 400, "invalid_request"},
		"trailing garbage": {`{"hostname":"h1","region":"test-1"}garbage`, 400, "invalid_request"},
		"null":             {`null`, 400, "invalid_request"},
		"oversized":        {`{"hostname":"h1","region":"test-1","labels":{"a":"` + strings.Repeat("x", 2<<20) + `"}}`, 413, "payload_too_large"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			status, body, _ := raw(t, admin, "POST", "/api/v1/admin/nodes", c.body, nil)
			if status != c.status || body["code"] != c.code {
				t.Fatalf("got %d %v", status, body)
			}
		})
	}
}

func TestNonAdminsAreForbidden(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	user, _ := env.As("user")
	id := uuid.NewString()
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/api/v1/admin/nodes", ""},
		{"POST", "/api/v1/admin/nodes", `{"hostname":"h","region":"r"}`},
		{"DELETE", "/api/v1/admin/nodes/" + id, ""},
		{"POST", "/api/v1/admin/nodes/" + id + "/enable", ""},
		{"GET", "/api/v1/admin/users", ""},
		{"POST", "/api/v1/admin/users", `{}`},
		{"GET", "/api/v1/admin/users/" + id, ""},
		{"GET", "/api/v1/admin/users/not-a-uuid", ""},
		{"GET", "/api/v1/admin/audit-logs", ""},
		{"GET", "/api/v1/admin/audit-logs/export", ""},
	} {
		status, body, _ := raw(t, user, r.method, r.path, r.body, nil)
		if status != http.StatusForbidden || body["code"] != "forbidden" {
			t.Errorf("%s %s as user: %d %v", r.method, r.path, status, body)
		}
		status, _, _ = raw(t, env.Client(""), r.method, r.path, r.body, nil)
		if status != http.StatusUnauthorized {
			t.Errorf("%s %s anonymous: %d", r.method, r.path, status)
		}
	}
}

// TestAdminCheckPrecedesTheDatabase: with the database gone, a non-admin
// still gets 403 (not 500 or 503), and an admin gets 503.
func TestAdminCheckPrecedesTheDatabase(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	user, _ := env.As("user")
	admin, _ := env.As("admin")
	cutDatabase(t, env)
	status, body, _ := raw(t, user, "GET", "/api/v1/admin/users", "", nil)
	if status != 403 || body["code"] != "forbidden" {
		t.Fatalf("non-admin with database down: %d %v", status, body)
	}
	status, body, _ = raw(t, admin, "GET", "/api/v1/admin/users", "", nil)
	if status != 503 || body["code"] != "unavailable" {
		t.Fatalf("admin with database down: %d %v", status, body)
	}
	h, err := env.Client("").Readyz(ctx)
	if err == nil || h.Status == api.HealthStatusOk {
		t.Fatalf("readyz with database down: %+v %v", h, err)
	}
}

// cutDatabase makes the test's database refuse connections and drops the
// ones the server holds, as if Postgres had gone away.
func cutDatabase(t *testing.T, env *servertest.Env) {
	t.Helper()
	admin, err := pgx.Connect(ctx, dbtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var name string
	must(t, env.App.Store.Pool().QueryRow(ctx, `SELECT current_database()`).Scan(&name))
	if _, err := admin.Exec(ctx, `ALTER DATABASE `+pgx.Identifier{name}.Sanitize()+` ALLOW_CONNECTIONS false`); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, name); err != nil {
		t.Fatal(err)
	}
	env.App.Store.Pool().Reset()
}

// holdGPU marks one GPU as held by an allocation row made for the purpose.
func holdGPU(t testing.TB, env *servertest.Env, gpuUUID string) {
	t.Helper()
	u := env.NewUser("user")
	exec(t, env, `WITH a AS (
		INSERT INTO allocations (user_id, sku_id, node_id, status, gpu_count, price_per_hour_minor, currency)
		SELECT $1, 'h100-x1', g.node_id, 'active', 1, 249, 'USD' FROM gpus g WHERE g.uuid = $2
		RETURNING id)
	UPDATE gpus SET allocation_id = (SELECT id FROM a) WHERE uuid = $2`, u.Id, gpuUUID)
}
