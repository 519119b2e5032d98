package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/billing"
	"github.com/gpuaas/gpuaas/internal/inventory"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/sdk"
)

// catalogueSKU is a valid create request in region eu-1; a test changes
// only what it is about.
func catalogueSKU(id string) api.CreateSKURequest {
	return api.CreateSKURequest{Id: id, Name: "H100 ×1", Region: "eu-1", GpuModel: h100, GpuCount: 1,
		GpuMemoryMib: 81559, Vcpu: 16, MemoryMib: 196608, DiskGib: 500, PricePerHourMinor: 249, Currency: "USD"}
}

// catalogueNodes seeds two online nodes in eu-1 with four H100 each.
func catalogueNodes(t *testing.T, env *servertest.Env) {
	t.Helper()
	for _, host := range []string{"eu-node-a", "eu-node-b"} {
		var gpus []inventory.GPUSpec
		for i := range 4 {
			gpus = append(gpus, inventory.GPUSpec{Index: i, UUID: fmt.Sprintf("GPU-%s-%d", host, i), Model: h100, MemoryMiB: 81559})
		}
		if _, err := env.App.Inventory.SeedNode(ctx, host, "eu-1", gpus); err != nil {
			t.Fatal(err)
		}
	}
}

func catalogueAudit(t *testing.T, env *servertest.Env, targetType, targetID string) []string {
	t.Helper()
	rows, err := env.App.Store.Pool().Query(ctx,
		`SELECT action FROM audit_logs WHERE target_type = $1 AND target_id = $2 ORDER BY id`, targetType, targetID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		must(t, rows.Scan(&a))
		out = append(out, a)
	}
	return out
}

// TestCatalogueSKUCreatedByAPIIsAllocatable is the acceptance walk: a SKU
// created through the API is in the marketplace and can be allocated; a
// price change while an allocation runs leaves that allocation's charge on
// the old price, and the next allocation pays the new one, to the minor
// unit; the price history has both entries, newest first.
func TestCatalogueSKUCreatedByAPIIsAllocatable(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	env.Fund(t, 1_000_000)
	admin, adminUser := env.As("admin")
	if _, err := admin.AdminCreateRegion(ctx, api.CreateRegionRequest{Slug: "eu-1", Name: "Europe 1"}); err != nil {
		t.Fatal(err)
	}
	catalogueNodes(t, env)
	req := catalogueSKU("h100-eu-x1")
	// 3600 and 7200 minor units an hour: one and two a second, so whole
	// seconds tell the prices apart.
	req.PricePerHourMinor = 3600
	sku, err := admin.AdminCreateSKU(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !sku.Active || sku.Available != 8 || sku.PricePerHourMinor != 3600 {
		t.Fatalf("created %+v", sku)
	}
	c, _ := env.As("user")
	list, err := c.ListSKUs(ctx, api.ListSkusParams{})
	if err != nil || len(list.Items) != 1 || list.Items[0].Id != "h100-eu-x1" {
		t.Fatalf("marketplace %+v %v", list.Items, err)
	}

	old, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: sku.Id}, "")
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, old.Id, api.AllocationStatusActive)
	newPrice := int64(7200)
	if _, err := admin.AdminUpdateSKU(ctx, sku.Id, api.UpdateSKURequest{PricePerHourMinor: &newPrice}); err != nil {
		t.Fatal(err)
	}
	fresh, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: sku.Id}, "")
	if err != nil {
		t.Fatal(err)
	}
	if old.PricePerHourMinor != 3600 || fresh.PricePerHourMinor != 7200 {
		t.Fatalf("allocation prices %d, %d", old.PricePerHourMinor, fresh.PricePerHourMinor)
	}
	waitStatus(t, c, fresh.Id, api.AllocationStatusActive)
	time.Sleep(1100 * time.Millisecond) // hold both for at least a whole second
	for _, id := range []uuid.UUID{old.Id, fresh.Id} {
		if _, err := c.ReleaseAllocation(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	for id, price := range map[uuid.UUID]int64{old.Id: 3600, fresh.Id: 7200} {
		done := waitStatus(t, c, id, api.AllocationStatusReleased)
		u := closedUsage(t, c, id)
		secs := billing.Seconds(*done.ActiveAt, billedUntil(done))
		if u.Seconds != secs || u.AmountMinor != billing.Charge(secs, price) || u.AmountMinor != secs*price/3600 {
			t.Fatalf("allocation at %d/h: usage %+v, want %d s and %d", price, u, secs, billing.Charge(secs, price))
		}
	}

	hist, err := admin.AdminListSKUPrices(ctx, sku.Id)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist.Items) != 2 {
		t.Fatalf("history %+v", hist.Items)
	}
	latest, first := hist.Items[0], hist.Items[1]
	if latest.PricePerHourMinor != 7200 || latest.PreviousPriceMinor == nil || *latest.PreviousPriceMinor != 3600 ||
		latest.ChangedBy == nil || *latest.ChangedBy != adminUser.Id || latest.Currency != "USD" ||
		latest.ChangedByUsername == nil || *latest.ChangedByUsername != adminUser.Username {
		t.Fatalf("latest entry %+v", latest)
	}
	if first.PricePerHourMinor != 3600 || first.PreviousPriceMinor != nil || first.ChangedAt.After(latest.ChangedAt) {
		t.Fatalf("creation entry %+v", first)
	}
	if got := strings.Join(catalogueAudit(t, env, "sku", sku.Id), ","); got != "sku.create,sku.price_change" {
		t.Fatalf("audit %s", got)
	}
}

func closedUsage(t *testing.T, c *sdk.Client, id uuid.UUID) api.UsageRecord {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		l, err := c.ListUsage(ctx, api.ListUsageParams{AllocationId: &id})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Items) == 1 && l.Items[0].EndedAt != nil {
			return l.Items[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("usage window of %s not closed: %+v", id, l.Items)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCatalogueDeactivatedSKU: a deactivated SKU leaves the marketplace and
// refuses creates, a running allocation of it goes on, and activating it
// brings it back.
func TestCatalogueDeactivatedSKU(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	env.Fund(t, 100_000)
	admin, _ := env.As("admin")
	must(t, env.App.Inventory.SeedRegion(ctx, inventory.Region{ID: "eu-1", Name: "Europe 1"}))
	catalogueNodes(t, env)
	sku, err := admin.AdminCreateSKU(ctx, catalogueSKU("h100-eu-x1"))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := env.As("user")
	running, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: sku.Id}, "")
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, running.Id, api.AllocationStatusActive)
	off := false
	k, err := admin.AdminUpdateSKU(ctx, sku.Id, api.UpdateSKURequest{Active: &off})
	if err != nil || k.Active {
		t.Fatalf("deactivate: %+v %v", k, err)
	}
	if l, err := c.ListSKUs(ctx, api.ListSkusParams{}); err != nil || len(l.Items) != 0 {
		t.Fatalf("marketplace after deactivation %+v %v", l.Items, err)
	}
	_, err = c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: sku.Id}, "")
	wantErr(t, err, http.StatusNotFound, "not_found")
	if a, err := c.GetAllocation(ctx, running.Id); err != nil || a.Status != api.AllocationStatusActive {
		t.Fatalf("running allocation %+v %v", a, err)
	}
	all, err := admin.AdminListSKUs(ctx, api.AdminListSkusParams{})
	if err != nil || len(all.Items) != 1 || all.Items[0].Active {
		t.Fatalf("admin list %+v %v", all.Items, err)
	}
	// Deactivating again changes nothing and is not audited.
	if _, err := admin.AdminUpdateSKU(ctx, sku.Id, api.UpdateSKURequest{Active: &off}); err != nil {
		t.Fatal(err)
	}
	on, name := true, "H100 (Europe)"
	if k, err = admin.AdminUpdateSKU(ctx, sku.Id, api.UpdateSKURequest{Active: &on, Name: &name}); err != nil || !k.Active || k.Name != name {
		t.Fatalf("activate: %+v %v", k, err)
	}
	if _, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: sku.Id}, ""); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(catalogueAudit(t, env, "sku", sku.Id), ","); got != "sku.create,sku.deactivate,sku.rename,sku.activate" {
		t.Fatalf("audit %s", got)
	}
	if h, err := admin.AdminListSKUPrices(ctx, sku.Id); err != nil || len(h.Items) != 1 {
		t.Fatalf("a name or active change is no price entry: %+v %v", h, err)
	}
}

// TestCatalogueConcurrentPriceChanges: admins changing a price at the same
// time are all recorded, each entry's previous price the one before it.
func TestCatalogueConcurrentPriceChanges(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	must(t, env.App.Inventory.SeedRegion(ctx, inventory.Region{ID: "eu-1", Name: "Europe 1"}))
	admin, _ := env.As("admin")
	other, _ := env.As("admin")
	if _, err := admin.AdminCreateSKU(ctx, catalogueSKU("h100-eu-x1")); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, p := admin, int64(1000+i)
			if i%2 == 1 {
				c = other
			}
			_, err := c.AdminUpdateSKU(ctx, "h100-eu-x1", api.UpdateSKURequest{PricePerHourMinor: &p})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	h, err := admin.AdminListSKUPrices(ctx, "h100-eu-x1")
	if err != nil || len(h.Items) != n+1 {
		t.Fatalf("history %d entries, %v", len(h.Items), err)
	}
	for i := 0; i < n; i++ {
		if p := h.Items[i].PreviousPriceMinor; p == nil || *p != h.Items[i+1].PricePerHourMinor {
			t.Fatalf("entry %d: previous %v, the entry before is %d", i, p, h.Items[i+1].PricePerHourMinor)
		}
	}
	all, _ := admin.AdminListSKUs(ctx, api.AdminListSkusParams{})
	if all.Items[0].PricePerHourMinor != h.Items[0].PricePerHourMinor {
		t.Fatalf("SKU price %d, newest entry %d", all.Items[0].PricePerHourMinor, h.Items[0].PricePerHourMinor)
	}
}

// TestCatalogueRegions: create, list with use, rename, 409 region_in_use
// naming what uses it, delete once unused; every change audited.
func TestCatalogueRegions(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	admin, _ := env.As("admin")
	r, err := admin.AdminCreateRegion(ctx, api.CreateRegionRequest{Slug: "eu-1", Name: "Europe 1"})
	if err != nil || r.Slug != "eu-1" || r.Name != "Europe 1" {
		t.Fatalf("create %+v %v", r, err)
	}
	_, err = admin.AdminCreateRegion(ctx, api.CreateRegionRequest{Slug: "eu-1", Name: "again"})
	wantErr(t, err, http.StatusConflict, "conflict")
	if r, err = admin.AdminRenameRegion(ctx, "eu-1", "  Amsterdam "); err != nil || r.Name != "Amsterdam" {
		t.Fatalf("rename %+v %v", r, err)
	}
	_, err = admin.AdminRenameRegion(ctx, "nowhere", "x")
	wantErr(t, err, http.StatusNotFound, "not_found")

	if _, err := admin.AdminCreateNode(ctx, api.CreateNodeRequest{Hostname: "eu-node-a", Region: "eu-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.AdminCreateSKU(ctx, catalogueSKU("h100-eu-x1")); err != nil {
		t.Fatal(err)
	}
	l, err := admin.AdminListRegions(ctx)
	if err != nil || len(l.Items) != 1 || l.Items[0].NodeCount != 1 || l.Items[0].SkuCount != 1 {
		t.Fatalf("list %+v %v", l, err)
	}
	e := wantErr(t, admin.AdminDeleteRegion(ctx, "eu-1"), http.StatusConflict, "region_in_use")
	if !strings.Contains(e.Message, "eu-node-a") || !strings.Contains(e.Message, "h100-eu-x1") {
		t.Fatalf("message does not name the users: %s", e.Message)
	}
	status, body, _ := raw(t, admin, "DELETE", "/api/v1/admin/regions/eu-1", "", nil)
	details, _ := body["details"].(map[string]any)
	if status != http.StatusConflict || details["node_count"] != float64(1) || details["sku_count"] != float64(1) ||
		fmt.Sprint(details["nodes"]) != "[eu-node-a]" || fmt.Sprint(details["skus"]) != "[h100-eu-x1]" {
		t.Fatalf("409 body %v", body)
	}

	if _, err := admin.AdminCreateRegion(ctx, api.CreateRegionRequest{Slug: "us-2", Name: "US 2"}); err != nil {
		t.Fatal(err)
	}
	must(t, admin.AdminDeleteRegion(ctx, "us-2"))
	wantErr(t, admin.AdminDeleteRegion(ctx, "us-2"), http.StatusNotFound, "not_found")
	if got := strings.Join(catalogueAudit(t, env, "region", "eu-1"), ","); got != "region.create,region.rename" {
		t.Fatalf("audit eu-1 %s", got)
	}
	if got := strings.Join(catalogueAudit(t, env, "region", "us-2"), ","); got != "region.create,region.delete" {
		t.Fatalf("audit us-2 %s", got)
	}

	user, _ := env.As("user")
	_, err = user.AdminCreateRegion(ctx, api.CreateRegionRequest{Slug: "x-1", Name: "X"})
	wantErr(t, err, http.StatusForbidden, "forbidden")
}

// TestCatalogueValidationNamesTheField: every invalid input is 400 with
// details.field.
func TestCatalogueValidationNamesTheField(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	admin, _ := env.As("admin")
	must(t, env.App.Inventory.SeedRegion(ctx, inventory.Region{ID: "eu-1", Name: "Europe 1"}))
	for _, tc := range []struct {
		method, path, body, field string
	}{
		{"POST", "/api/v1/admin/regions", `{"slug":"EU","name":"x"}`, "slug"},
		{"POST", "/api/v1/admin/regions", `{"slug":"1eu","name":"x"}`, "slug"},
		{"POST", "/api/v1/admin/regions", `{"slug":"e","name":"x"}`, "slug"},
		{"POST", "/api/v1/admin/regions", `{"slug":"eu-2","name":" "}`, "name"},
		{"POST", "/api/v1/admin/regions", `{"slug":"eu-2","name":"a\nb"}`, "name"},
		{"POST", "/api/v1/admin/regions", `{"slug":"eu-2","name":"` + strings.Repeat("é", 65) + `"}`, "name"},
		{"PATCH", "/api/v1/admin/regions/eu-1", `{"name":""}`, "name"},
		{"PATCH", "/api/v1/admin/skus/h100-ok", `{"price_per_hour_minor":-1}`, "price_per_hour_minor"},
		{"PATCH", "/api/v1/admin/skus/h100-ok", `{"name":"a\u200bb"}`, "name"},
	} {
		status, body, _ := raw(t, admin, tc.method, tc.path, tc.body, nil)
		details, _ := body["details"].(map[string]any)
		if status != 400 || details["field"] != tc.field {
			t.Errorf("%s %s %s: %d %v, want 400 field %s", tc.method, tc.path, tc.body, status, body, tc.field)
		}
	}
	if _, err := admin.AdminCreateSKU(ctx, catalogueSKU("h100-ok")); err != nil {
		t.Fatal(err)
	}
	for field, mutate := range map[string]func(*api.CreateSKURequest){
		"id":                   func(r *api.CreateSKURequest) { r.Id = "H100" },
		"name":                 func(r *api.CreateSKURequest) { r.Name = "" },
		"region":               func(r *api.CreateSKURequest) { r.Region = "nowhere" },
		"gpu_model":            func(r *api.CreateSKURequest) { r.GpuModel = "" },
		"gpu_count":            func(r *api.CreateSKURequest) { r.GpuCount = 17 },
		"gpu_memory_mib":       func(r *api.CreateSKURequest) { r.GpuMemoryMib = 0 },
		"vcpu":                 func(r *api.CreateSKURequest) { r.Vcpu = -1 },
		"memory_mib":           func(r *api.CreateSKURequest) { r.MemoryMib = 1 << 40 },
		"disk_gib":             func(r *api.CreateSKURequest) { r.DiskGib = 0 },
		"price_per_hour_minor": func(r *api.CreateSKURequest) { r.PricePerHourMinor = -5 },
		"currency":             func(r *api.CreateSKURequest) { r.Currency = "usd" },
	} {
		req := catalogueSKU("h100-new")
		mutate(&req)
		_, err := admin.AdminCreateSKU(ctx, req)
		e := wantErr(t, err, http.StatusBadRequest, "")
		if e.Details["field"] != field {
			t.Errorf("%s: details %v (%s)", field, e.Details, e.Message)
		}
	}
	_, err := admin.AdminCreateSKU(ctx, catalogueSKU("h100-ok"))
	wantErr(t, err, http.StatusConflict, "conflict")
	_, err = admin.AdminUpdateSKU(ctx, "h100-ok", api.UpdateSKURequest{})
	wantErr(t, err, http.StatusBadRequest, "invalid_request")
	p := int64(1)
	_, err = admin.AdminUpdateSKU(ctx, "nope", api.UpdateSKURequest{PricePerHourMinor: &p})
	wantErr(t, err, http.StatusNotFound, "not_found")
	_, err = admin.AdminListSKUPrices(ctx, "nope")
	wantErr(t, err, http.StatusNotFound, "not_found")
}

// TestCatalogueSuggestions: GPU shapes nodes reported that no SKU covers
// are proposed once per (region, model, memory, GPUs per node).
func TestCatalogueSuggestions(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	admin, _ := env.As("admin")
	inv := env.App.Inventory
	must(t, inv.SeedRegion(ctx, inventory.Region{ID: "eu-1", Name: "Europe 1"}))
	catalogueNodes(t, env) // two nodes of 4 × H100
	const a100 = "NVIDIA A100-SXM4-80GB"
	if _, err := inv.SeedNode(ctx, "eu-a100", "eu-1", []inventory.GPUSpec{
		{Index: 0, UUID: "GPU-a100-0", Model: a100, MemoryMiB: 81920},
		{Index: 1, UUID: "GPU-a100-1", Model: a100, MemoryMiB: 81920},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.SeedNode(ctx, "eu-off", "eu-1", []inventory.GPUSpec{{Index: 0, UUID: "GPU-off-0", Model: "Tesla T4", MemoryMiB: 15360}}); err != nil {
		t.Fatal(err)
	}
	exec(t, env, `UPDATE nodes SET admin_state = 'disabled' WHERE hostname = 'eu-off'`)
	// h100-80gb-hbm3-x4 is taken by a SKU of another shape: the proposal
	// must not reuse the id.
	taken := catalogueSKU("h100-80gb-hbm3-x4")
	taken.GpuModel = "other"
	if _, err := admin.AdminCreateSKU(ctx, taken); err != nil {
		t.Fatal(err)
	}
	s, err := admin.AdminSKUSuggestions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%+v", s.Items)
	want := fmt.Sprintf("%+v", []api.SKUSuggestion{
		{Id: "a100-sxm4-80gb-x2", Name: "A100-SXM4-80GB ×2", Region: "eu-1", GpuModel: a100, GpuMemoryMib: 81920, GpuCount: 2, NodeCount: 1},
		{Id: "h100-80gb-hbm3-x4-eu-1", Name: "H100 80GB HBM3 ×4", Region: "eu-1", GpuModel: h100, GpuMemoryMib: 81559, GpuCount: 4, NodeCount: 2},
	})
	if got != want {
		t.Fatalf("suggestions\n got %s\nwant %s", got, want)
	}
	// An inactive SKU of the shape covers it too.
	req := catalogueSKU("h100-x4")
	req.GpuCount = 4
	if _, err := admin.AdminCreateSKU(ctx, req); err != nil {
		t.Fatal(err)
	}
	off := false
	if _, err := admin.AdminUpdateSKU(ctx, "h100-x4", api.UpdateSKURequest{Active: &off}); err != nil {
		t.Fatal(err)
	}
	if s, err = admin.AdminSKUSuggestions(ctx); err != nil || len(s.Items) != 1 || s.Items[0].GpuModel != a100 {
		t.Fatalf("after a SKU covers the H100 shape: %+v %v", s.Items, err)
	}
}
