package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
)

func getMetrics(t *testing.T, c *http.Client, url, auth string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// Revenue figures are in the metrics: by default they stay open on the main
// listener, but an operator can require a token or move them.
func TestMetricsOpenByDefault(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	if code, body := getMetrics(t, env.HTTPClient(), env.URL+"/metrics", ""); code != 200 || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("default /metrics: %d", code)
	}
}

func TestMetricsTokenRequired(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, func(c *config.Server) { c.MetricsToken = "s3cret-metrics-token" })
	for _, auth := range []string{"", "Bearer wrong", "Basic czNjcmV0"} {
		if code, body := getMetrics(t, env.HTTPClient(), env.URL+"/metrics", auth); code != 401 || !strings.Contains(body, `"unauthorized"`) {
			t.Fatalf("/metrics with %q: %d %s", auth, code, body)
		}
	}
	if code, body := getMetrics(t, env.HTTPClient(), env.URL+"/metrics", "Bearer s3cret-metrics-token"); code != 200 || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("/metrics with the token: %d", code)
	}
}

func TestMetricsOnTheirOwnListener(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, func(c *config.Server) {
		c.MetricsListen = "127.0.0.1:0"
		c.MetricsToken = "s3cret-metrics-token"
	})
	if code, _ := getMetrics(t, env.HTTPClient(), env.URL+"/metrics", "Bearer s3cret-metrics-token"); code != 404 {
		t.Fatalf("/metrics on the main listener: %d, want 404", code)
	}
	if env.App.MetricsURL == "" {
		t.Fatal("no metrics URL")
	}
	plain := &http.Client{}
	if code, _ := getMetrics(t, plain, env.App.MetricsURL+"/metrics", ""); code != 401 {
		t.Fatalf("metrics listener without the token: %d, want 401", code)
	}
	if code, body := getMetrics(t, plain, env.App.MetricsURL+"/metrics", "Bearer s3cret-metrics-token"); code != 200 || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("metrics listener: %d", code)
	}
}
