package launchable_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/launchable"
)

func load(t *testing.T, dir string, allow ...string) *launchable.Catalogue {
	t.Helper()
	c, err := launchable.Load(dir, allow)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEmbeddedCatalogue(t *testing.T) {
	c := load(t, "")
	var ids []string
	for _, l := range c.List().Items {
		ids = append(ids, l.Id)
	}
	if strings.Join(ids, ",") != "shell,container,jupyter" {
		t.Fatalf("catalogue %v, want shell first then by id", ids)
	}
	j, _ := c.Get("jupyter")
	if j.Runtime != "docker" || j.Image == "" || len(j.Ports) != 1 || j.Ports[0].Port != 8888 || !j.KeepPrefix || j.TokenEnv != "JUPYTER_TOKEN" {
		t.Errorf("jupyter: %+v", j)
	}
}

func TestOperatorDirOverrides(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("jupyter.yaml", "id: jupyter\nname: Notebook (CI)\nruntime: docker\nimage: ci/jupyter:latest\nports: [{name: lab, port: 8888}]\n")
	write("vllm.yaml", "id: vllm\nname: vLLM\nruntime: docker\nimage: vllm/vllm-openai\nparams:\n  - {name: hf-token, required: true, secret: true, target: 'env:HF_TOKEN'}\n")
	c := load(t, dir)
	if j, _ := c.Get("jupyter"); j.Image != "ci/jupyter:latest" || j.Name != "Notebook (CI)" {
		t.Errorf("override: %+v", j)
	}
	if _, ok := c.Get("vllm"); !ok {
		t.Error("added launchable missing")
	}
	write("bad.yaml", "id: bad\nname: Bad\nruntime: docker\nimage: x\nprivileged: true\n")
	if _, err := launchable.Load(dir, nil); err == nil || !strings.Contains(err.Error(), "bad.yaml") {
		t.Errorf("unknown manifest field: %v", err)
	}
}

func field(t *testing.T, err error) string {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Kind != apperr.KindInvalid {
		t.Fatalf("want a 400, got %v", err)
	}
	f, _ := e.Details["field"].(string)
	if !strings.Contains(e.Message, f) {
		t.Errorf("message %q does not name the field %q", e.Message, f)
	}
	return f
}

func ptr[T any](v T) *T { return &v }

func TestResolveRefusesBadInput(t *testing.T) {
	c := load(t, "", "ci/*", "nvcr.io/nvidia/*")
	big := map[string]string{}
	for i := 0; i < 40; i++ {
		big["V"+strings.Repeat("X", i)] = strings.Repeat("v", 1000)
	}
	for name, tc := range map[string]struct {
		req   api.WorkloadRequest
		field string
		code  string
	}{
		"unknown":        {api.WorkloadRequest{Launchable: "nope"}, "workload.launchable", ""},
		"no image":       {api.WorkloadRequest{Launchable: "container"}, "workload.image", ""},
		"not allowed":    {api.WorkloadRequest{Launchable: "container", Image: ptr("docker.io/library/busybox")}, "workload.image", launchable.CodeImageNotAllowed},
		"allow is glob":  {api.WorkloadRequest{Launchable: "container", Image: ptr("ci/a/b")}, "workload.image", launchable.CodeImageNotAllowed},
		"platform env":   {api.WorkloadRequest{Launchable: "container", Image: ptr("ci/busybox"), Env: &map[string]string{"NVIDIA_VISIBLE_DEVICES": "all"}}, "workload.env.NVIDIA_VISIBLE_DEVICES", ""},
		"gpuaas env":     {api.WorkloadRequest{Launchable: "container", Image: ptr("ci/busybox"), Env: &map[string]string{"gpuaas_allocation_id": "x"}}, "workload.env.gpuaas_allocation_id", ""},
		"bad env name":   {api.WorkloadRequest{Launchable: "container", Image: ptr("ci/busybox"), Env: &map[string]string{"A-B": "x"}}, "workload.env.A-B", ""},
		"oversized env":  {api.WorkloadRequest{Launchable: "container", Image: ptr("ci/busybox"), Env: &big}, "workload.env", ""},
		"port zero":      {api.WorkloadRequest{Launchable: "container", Image: ptr("ci/busybox"), Ports: &[]api.WorkloadPort{{Name: "web", Port: 0}}}, "workload.ports[0].port", ""},
		"port too big":   {api.WorkloadRequest{Launchable: "container", Image: ptr("ci/busybox"), Ports: &[]api.WorkloadPort{{Name: "web", Port: 65536}}}, "workload.ports[0].port", ""},
		"port name":      {api.WorkloadRequest{Launchable: "container", Image: ptr("ci/busybox"), Ports: &[]api.WorkloadPort{{Name: "Web", Port: 80}}}, "workload.ports[0].name", ""},
		"dup port name":  {api.WorkloadRequest{Launchable: "container", Image: ptr("ci/busybox"), Ports: &[]api.WorkloadPort{{Name: "a", Port: 80}, {Name: "a", Port: 81}}}, "workload.ports[1].name", ""},
		"shell image":    {api.WorkloadRequest{Launchable: "shell", Image: ptr("ci/busybox")}, "workload.image", ""},
		"unknown param":  {api.WorkloadRequest{Launchable: "jupyter", Params: &map[string]string{"nope": "x"}}, "workload.params.nope", ""},
		"jupyter image":  {api.WorkloadRequest{Launchable: "jupyter", Params: &map[string]string{"image": "evil/jupyter"}}, "workload.params.image", launchable.CodeImageNotAllowed},
		"jupyter ports":  {api.WorkloadRequest{Launchable: "jupyter", Ports: &[]api.WorkloadPort{{Name: "x", Port: 1}}}, "workload.ports", ""},
		"command length": {api.WorkloadRequest{Launchable: "container", Image: ptr("ci/busybox"), Command: &[]string{strings.Repeat("a", 5000)}}, "workload.command[0]", ""},
	} {
		_, err := c.Resolve(&tc.req)
		if got := field(t, err); got != tc.field {
			t.Errorf("%s: field %q, want %q (%v)", name, got, tc.field, err)
		}
		if tc.code != "" && !apperr.HasCode(err, tc.code) {
			t.Errorf("%s: %v, want code %s", name, err, tc.code)
		}
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "vllm.yaml"), []byte("id: vllm\nname: vLLM\nruntime: docker\nimage: vllm/vllm-openai\n"+
		"params:\n  - {name: hf-token, required: true, secret: true, target: 'env:HF_TOKEN'}\n  - {name: model, target: 'env:MODEL'}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := load(t, dir, "ci/*")
	if r, err := c.Resolve(nil); err != nil || r.Launchable != "shell" || r.Runtime != "process" {
		t.Errorf("no workload: %+v %v", r, err)
	}
	r, err := c.Resolve(&api.WorkloadRequest{Launchable: "container", Image: ptr("ci/busybox:latest"),
		Command: &[]string{"httpd", "-f"}, Env: &map[string]string{"A": "1"}, Ports: &[]api.WorkloadPort{{Name: "web", Port: 8080}}})
	if err != nil || r.Runtime != "docker" || r.Image != "ci/busybox:latest" || r.Env["A"] != "1" || len(r.Ports) != 1 ||
		r.Ports[0].Protocol != "http" || len(r.SecretEnv) != 0 {
		t.Errorf("container: %+v %v", r, err)
	}
	j, err := c.Resolve(&api.WorkloadRequest{Launchable: "jupyter", Params: &map[string]string{"image": "ci/jupyter"}})
	if err != nil || j.Image != "ci/jupyter" || len(j.SecretEnv["JUPYTER_TOKEN"]) != 64 || j.Params["image"] != "ci/jupyter" {
		t.Errorf("jupyter: %+v %v", j, err)
	}
	j2, _ := c.Resolve(&api.WorkloadRequest{Launchable: "jupyter"})
	if j2.SecretEnv["JUPYTER_TOKEN"] == j.SecretEnv["JUPYTER_TOKEN"] {
		t.Error("two jupyters share a token")
	}
	if _, err := c.Resolve(&api.WorkloadRequest{Launchable: "vllm"}); field(t, err) != "workload.params.hf-token" {
		t.Errorf("missing required param: %v", err)
	}
	v, err := c.Resolve(&api.WorkloadRequest{Launchable: "vllm", Params: &map[string]string{"hf-token": "hf_secret", "model": "m"}})
	if err != nil || v.SecretEnv["HF_TOKEN"] != "hf_secret" || v.Env["HF_TOKEN"] != "" || v.Params["hf-token"] != "" ||
		v.Env["MODEL"] != "m" || v.Params["model"] != "m" {
		t.Errorf("vllm: %+v %v", v, err)
	}
}
