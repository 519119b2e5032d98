package server_test

import (
	"strings"
	"testing"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
)

func TestHealthReadinessAndMetrics(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, func(c *config.Server) {
		c.NATSURL = "nats://127.0.0.1:4222"
		c.RedisURL = "redis://127.0.0.1:6379/0"
	})
	anon := env.Client("")
	h, err := anon.Healthz(ctx)
	if err != nil || h.Status != api.HealthStatusOk {
		t.Fatalf("healthz %+v %v", h, err)
	}
	r, err := anon.Readyz(ctx)
	if err != nil || r.Status != api.HealthStatusOk || r.Checks == nil {
		t.Fatalf("readyz %+v %v", r, err)
	}
	for _, dep := range []string{"postgres", "nats", "redis"} {
		if (*r.Checks)[dep] != "ok" {
			t.Fatalf("readyz checks %v", *r.Checks)
		}
	}
	if status, _, _ := raw(t, anon, "GET", "/api/v1/users/me", "", nil); status != 401 { // counted below
		t.Fatalf("anonymous me: %d", status)
	}
	m, err := anon.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`gpuaas_http_requests_total{code="401",method="GET",route="GET /api/v1/users/me"}`,
		`gpuaas_http_request_duration_seconds_bucket{method="GET",route="GET /readyz"`,
		`gpuaas_kv_fail_open_total`,
	} {
		if !strings.Contains(string(m), want) {
			t.Errorf("metrics lack %s in:\n%s", want, grepLines(string(m), "gpuaas_"))
		}
	}
}

func TestUnknownRoutesUseTheEnvelope(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	c, _ := env.As("user")
	status, body, _ := raw(t, c, "GET", "/api/v1/nothing-here", "", nil)
	if status != 404 || body["code"] != "not_found" {
		t.Fatalf("unknown route: %d %v", status, body)
	}
	status, body, _ = raw(t, c, "PUT", "/api/v1/skus", "", nil)
	if status != 405 || body["code"] != "method_not_allowed" {
		t.Fatalf("wrong method: %d %v", status, body)
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
