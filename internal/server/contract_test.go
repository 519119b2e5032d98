package server_test

import (
	"sort"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/contract"
	"github.com/gpuaas/gpuaas/internal/server"
)

// TestRoutesMatchOpenAPI fails when a registered route is missing from
// api/openapi.yaml, or the spec documents a route the server lacks.
func TestRoutesMatchOpenAPI(t *testing.T) {
	t.Parallel()
	app := &server.App{Roles: config.Roles{"api": true, "worker": true}, Registry: prometheus.NewRegistry()}
	registered := map[string]bool{}
	for _, r := range app.Router().Routes() {
		registered[r.Method+" "+r.Pattern] = true
	}
	documented := map[string]bool{}
	for _, op := range contract.Operations(t) {
		documented[op] = true
	}
	var missing, extra []string
	for op := range registered {
		if !documented[op] {
			missing = append(missing, op)
		}
	}
	for op := range documented {
		if !registered[op] {
			extra = append(extra, op)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	for _, op := range missing {
		t.Errorf("registered but not in openapi.yaml: %s", op)
	}
	for _, op := range extra {
		t.Errorf("in openapi.yaml but not registered: %s", op)
	}
}
