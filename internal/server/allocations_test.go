package server_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/sdk"
)

// post sends a raw POST with headers and returns status, body and headers.
func post(t *testing.T, c *sdk.Client, path, body string, hdr http.Header) (int, []byte, http.Header) {
	t.Helper()
	if hdr == nil {
		hdr = http.Header{}
	}
	hdr.Set("Content-Type", "application/json")
	resp, err := c.Do(ctx, "POST", path, strings.NewReader(body), hdr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

func TestAllocationIdempotencyKey(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	seedInventory(t, env)
	env.Fund(t, 1_000_000)
	c, _ := env.As("user")
	key := http.Header{"Idempotency-Key": {"create-1"}}
	s1, b1, _ := post(t, c, "/api/v1/allocations", `{"sku_id":"h100-x1","name":"train"}`, key)
	if s1 != 202 {
		t.Fatalf("create: %d %s", s1, b1)
	}
	// Same key, same body (whitespace aside): the stored bytes, no new allocation.
	s2, b2, h2 := post(t, c, "/api/v1/allocations", `{ "sku_id": "h100-x1", "name": "train" }`, http.Header{"Idempotency-Key": {"create-1"}})
	if s2 != 202 || string(b2) != string(b1) || h2.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %s (first %s)", s2, b2, b1)
	}
	// Same key, another body: 422.
	s3, b3, _ := post(t, c, "/api/v1/allocations", `{"sku_id":"h100-x8"}`, http.Header{"Idempotency-Key": {"create-1"}})
	if s3 != 422 || !strings.Contains(string(b3), "idempotency_key_mismatch") {
		t.Fatalf("mismatch: %d %s", s3, b3)
	}
	// Keys are per user: another user's identical key makes their own allocation.
	c2, _ := env.As("user")
	s4, b4, _ := post(t, c2, "/api/v1/allocations", `{"sku_id":"h100-x1","name":"train"}`, http.Header{"Idempotency-Key": {"create-1"}})
	if s4 != 202 || string(b4) == string(b1) {
		t.Fatalf("other user: %d %s", s4, b4)
	}
	for _, bad := range []string{strings.Repeat("k", 256), "has space", "tab\tkey"} {
		s, b, _ := post(t, c, "/api/v1/allocations", `{"sku_id":"h100-x1"}`, http.Header{"Idempotency-Key": {bad}})
		if s != 400 {
			t.Fatalf("key %q: %d %s", bad, s, b)
		}
	}
	list, err := c.ListAllocations(ctx, apiListAllocations())
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("user has %d allocations, want 1: %v", len(list.Items), err)
	}
	m, err := env.Client("").Metrics(ctx)
	if err != nil || !strings.Contains(string(m), "gpuaas_idempotency_replays_total") {
		t.Fatalf("replays are not counted on /metrics: %v", err)
	}
}

func TestConcurrentRetriesWithOneKeyCreateOnce(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	seedInventory(t, env)
	env.Fund(t, 1_000_000)
	c, _ := env.As("user")
	var wg sync.WaitGroup
	bodies := make([]string, 6)
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, b, _ := post(t, c, "/api/v1/allocations", `{"sku_id":"h100-x1"}`, http.Header{"Idempotency-Key": {"same"}})
			if s != 202 {
				t.Errorf("retry %d: %d %s", i, s, b)
			}
			bodies[i] = string(b)
		}()
	}
	wg.Wait()
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Fatalf("responses differ:\n%s\n%s", bodies[0], b)
		}
	}
	list, _ := c.ListAllocations(ctx, apiListAllocations())
	if len(list.Items) != 1 {
		t.Fatalf("%d allocations from one key", len(list.Items))
	}
}

func TestAllocationRoutesRefuseHostileInput(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	seedInventory(t, env)
	env.Fund(t, 1_000_000)
	owner, _ := env.As("user")
	other, _ := env.As("user")
	a, err := owner.CreateAllocation(ctx, apiCreate("h100-x1"), "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = other.GetAllocation(ctx, a.Id)
	wantErr(t, err, 404, "not_found")
	_, err = other.ReleaseAllocation(ctx, a.Id)
	wantErr(t, err, 404, "not_found")
	_, err = owner.GetAllocation(ctx, uuid.New())
	wantErr(t, err, 404, "not_found")
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/api/v1/allocations/not-a-uuid", ""},
		{"POST", "/api/v1/allocations/xyz/release", ""},
		{"POST", "/api/v1/allocations", `{"sku_id":"h100-x1","gpus":8}`},
		{"POST", "/api/v1/allocations", `{"sku_id":1}`},
		{"POST", "/api/v1/allocations", `{}`},
		{"POST", "/api/v1/allocations", `{"sku_id":"h100-x1","name":"` + strings.Repeat("n", 64) + `"}`},
		{"GET", "/api/v1/allocations?status=running", ""},
		{"GET", "/api/v1/allocations?cursor=@@", ""},
	} {
		status, body, _ := raw(t, owner, c.method, c.path, c.body, nil)
		if status != 400 {
			t.Errorf("%s %s %s: %d %v", c.method, c.path, c.body, status, body)
		}
	}
	_, err = owner.CreateAllocation(ctx, apiCreate("nope"), "")
	wantErr(t, err, 404, "not_found")
	_, err = owner.CreateAllocation(ctx, apiCreate("h100-x8"), "")
	wantErr(t, err, 409, "insufficient_capacity")
	// Users cannot force-release; admins must give a reason.
	status, _, _ := raw(t, owner, "POST", "/api/v1/admin/allocations/"+a.Id.String()+"/force-release", `{"reason":"x"}`, nil)
	if status != 403 {
		t.Fatalf("user force-release: %d", status)
	}
	admin, _ := env.As("admin")
	status, body, _ := raw(t, admin, "POST", "/api/v1/admin/allocations/"+a.Id.String()+"/force-release", `{"reason":"  "}`, nil)
	if status != 400 {
		t.Fatalf("empty reason: %d %v", status, body)
	}
	status, body, _ = raw(t, admin, "POST", "/api/v1/admin/allocations/"+a.Id.String()+"/force-release", `{}`, nil)
	if status != 400 {
		t.Fatalf("missing reason: %d %v", status, body)
	}
}

func apiListAllocations() api.ListAllocationsParams { return api.ListAllocationsParams{} }

func apiCreate(sku string) api.CreateAllocationRequest {
	return api.CreateAllocationRequest{SkuId: sku}
}
