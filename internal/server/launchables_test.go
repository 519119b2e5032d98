package server_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
)

// TestLaunchablesAndWorkloads: the catalogue over HTTP; bad workloads are
// 400 with the field and create nothing; a container workload is kept and
// shown; a secret param is sealed, never shown or stored in plain text.
func TestLaunchablesAndWorkloads(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "vllm.yaml"), []byte("id: vllm\nname: vLLM\nruntime: docker\nimage: ci/vllm\n"+
		"ports: [{name: api, port: 8000}]\nparams:\n  - {name: hf-token, description: Hugging Face token, required: true, secret: true, target: 'env:HF_TOKEN'}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := servertest.Start(t, func(c *config.Server) {
		c.ImageAllow = config.StringList{"ci/*"}
		c.LaunchablesDir = dir
	})
	seedInventory(t, env)
	env.Fund(t, 100_000)
	c, _ := env.As("user")

	list, err := c.ListLaunchables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]api.Launchable{}
	for _, l := range list.Items {
		byID[l.Id] = l
	}
	if list.Items[0].Id != "shell" || byID["container"].Runtime != "docker" || byID["jupyter"].Ports[0].Port != 8888 ||
		byID["jupyter"].Health == nil || len(byID["vllm"].Params) != 1 || !byID["vllm"].Params[0].Secret {
		t.Fatalf("catalogue: %+v", list)
	}

	for _, tc := range []struct{ body, code, field string }{
		{`{"sku_id":"h100-x1","workload":{"launchable":"nope"}}`, "invalid_request", "workload.launchable"},
		{`{"sku_id":"h100-x1","workload":{"launchable":"container","image":"docker.io/evil"}}`, "image_not_allowed", "workload.image"},
		{`{"sku_id":"h100-x1","workload":{"launchable":"container","image":"ci/busybox","ports":[{"name":"web","port":70000}]}}`, "invalid_request", "workload.ports[0].port"},
		{`{"sku_id":"h100-x1","workload":{"launchable":"container","image":"ci/busybox","env":{"CUDA_VISIBLE_DEVICES":"0"}}}`, "invalid_request", "workload.env.CUDA_VISIBLE_DEVICES"},
		{`{"sku_id":"h100-x1","workload":{"launchable":"vllm"}}`, "invalid_request", "workload.params.hf-token"},
	} {
		status, e, _ := raw(t, c, "POST", "/api/v1/allocations", tc.body, nil)
		details, _ := e["details"].(map[string]any)
		if status != 400 || e["code"] != tc.code || details["field"] != tc.field {
			t.Errorf("%s: %d %v, want 400 %s naming %s", tc.body, status, e, tc.code, tc.field)
		}
	}
	if l, _ := c.ListAllocations(ctx, api.ListAllocationsParams{}); len(l.Items) != 0 {
		t.Fatalf("bad input created %d allocations", len(l.Items))
	}

	a, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1", Workload: &api.WorkloadRequest{
		Launchable: "container", Image: ptr("ci/busybox:latest"), Command: &[]string{"httpd", "-f"},
		Env: &map[string]string{"GREETING": "hi"}, Ports: &[]api.WorkloadPort{{Name: "web", Port: 8080}}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	w := a.Workload
	if w == nil || w.Launchable != "container" || w.Runtime != "docker" || w.Image == nil || *w.Image != "ci/busybox:latest" ||
		w.Env == nil || (*w.Env)["GREETING"] != "hi" || w.Ports == nil || (*w.Ports)[0].Port != 8080 {
		t.Fatalf("workload %+v", w)
	}
	active := waitStatus(t, c, a.Id, api.AllocationStatusActive)
	if active.Connection != nil {
		t.Errorf("a container allocation shows an SSH login: %+v", active.Connection)
	}
	shell, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1"}, "")
	if err != nil || shell.Workload == nil || shell.Workload.Launchable != "shell" || shell.Workload.Runtime != "process" {
		t.Fatalf("shell: %+v %v", shell.Workload, err)
	}

	const secret = "hf_do-not-leak-0123456789"
	v, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1", Workload: &api.WorkloadRequest{
		Launchable: "vllm", Params: &map[string]string{"hf-token": secret}}}, "idem-vllm")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := c.GetAllocation(ctx, v.Id)
	for what, s := range map[string]any{"create": v, "get": got} {
		if b, _ := json.Marshal(s); strings.Contains(string(b), secret) {
			t.Errorf("%s echoes the secret: %s", what, b)
		}
	}
	var stored string
	if err := env.App.Store.Pool().QueryRow(ctx, `SELECT workload::text FROM allocations WHERE id = $1`, v.Id).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, secret) || !strings.Contains(stored, `"HF_TOKEN"`) || !strings.Contains(stored, "sealed_env") {
		t.Errorf("stored workload: %s", stored)
	}
	var leaks int
	if err := env.App.Store.Pool().QueryRow(ctx, `SELECT
		(SELECT count(*) FROM idempotency_keys WHERE position($1 in convert_from(response_body, 'UTF8')) > 0) +
		(SELECT count(*) FROM audit_logs WHERE position($1 in metadata::text) > 0) +
		(SELECT count(*) FROM outbox WHERE position($1 in payload::text) > 0)`, secret).Scan(&leaks); err != nil {
		t.Fatal(err)
	}
	if leaks != 0 {
		t.Errorf("the secret is stored in plain text in %d rows", leaks)
	}
}
