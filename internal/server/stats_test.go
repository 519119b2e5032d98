package server_test

import (
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
)

func getStats(t *testing.T, env *servertest.Env, auth string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", env.URL+"/api/v1/internal/stats", nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := env.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatalf("decode %d: %v", res.StatusCode, err)
	}
	return res.StatusCode, body
}

func TestInternalStatsOffWithoutToken(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	code, body := getStats(t, env, "Bearer anything")
	if code != 404 || body["code"] != "not_found" {
		t.Fatalf("unset token: %d %v", code, body)
	}
}

func TestInternalStatsAndAllocationsMetric(t *testing.T) {
	t.Parallel()
	const token = "s3cret-stats-token"
	env := servertest.Start(t, func(c *config.Server) { c.InternalStatsToken = token })
	for _, auth := range []string{"", "Bearer wrong", "Bearer " + token + "x", "Basic " + token} {
		if code, body := getStats(t, env, auth); code != 401 {
			t.Fatalf("auth %q: %d %v", auth, code, body)
		}
	}

	seedInventory(t, env)
	env.Fund(t, 100_000)
	c, _ := env.As("user")
	a, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1", Name: ptr("job")}, "k1")
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, a.Id, api.AllocationStatusActive)

	code, body := getStats(t, env, "Bearer "+token)
	if code != 200 {
		t.Fatalf("stats: %d %v", code, body)
	}
	allocs, _ := body["allocations"].(map[string]any)
	if allocs["active"] != float64(1) || allocs["released"] != float64(0) {
		t.Fatalf("allocations %v", body["allocations"])
	}
	nodes, _ := body["nodes"].(map[string]any)
	if _, ok := nodes["online"].(float64); !ok {
		t.Fatalf("nodes %v", body["nodes"])
	}
	for _, k := range []string{"outbox_pending", "agent_sessions", "dead_letters", "notify_connections", "terminal_tokens_minted"} {
		if _, ok := body[k].(float64); !ok {
			t.Fatalf("%s missing or not a number in %v", k, body)
		}
	}

	res, err := env.HTTPClient().Get(env.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	metrics, _ := io.ReadAll(res.Body)
	for _, want := range []string{`gpuaas_allocations{status="active"} 1`, `gpuaas_allocations{status="failed"} 0`} {
		if !strings.Contains(string(metrics), want) {
			t.Fatalf("/metrics lacks %s", want)
		}
	}
}

// TestAlertRulesUseKnownMetrics holds deploy/prometheus/alerts.yml and the
// Grafana dashboard to metric names the code defines.
func TestAlertRulesUseKnownMetrics(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	defined := map[string]bool{}
	nameRe := regexp.MustCompile(`"(gpuaas_[a-z0-9_]+)"`)
	err := filepath.WalkDir(filepath.Join(root, "internal"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range nameRe.FindAllStringSubmatch(string(b), -1) {
			defined[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	known := func(name string) bool {
		if defined[name] {
			return true
		}
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if strings.HasSuffix(name, suf) && defined[strings.TrimSuffix(name, suf)] {
				return true
			}
		}
		return false
	}
	useRe := regexp.MustCompile(`\bgpuaas_[a-z0-9_]+`)
	for _, f := range []string{"deploy/prometheus/alerts.yml", "deploy/grafana/gpuaas.json"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		uses := useRe.FindAllString(string(b), -1)
		if len(uses) == 0 {
			t.Fatalf("%s names no gpuaas_ metric", f)
		}
		for _, name := range uses {
			if !known(name) {
				t.Errorf("%s uses %s, which no Go source under internal/ defines", f, name)
			}
		}
	}
}
