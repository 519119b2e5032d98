package devenv_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/devenv"
	"github.com/gpuaas/gpuaas/internal/store/dbtest"
	"github.com/gpuaas/gpuaas/sdk"
)

// TestDevRunsTheFleetThroughAgents starts `gpuaas dev` as a newcomer would
// (embedded NATS, fresh database) and walks an allocation: its simulated
// nodes are in-process agents on the real protocol, so the allocation is
// provisioned by a task over an agent connection.
func TestDevRunsTheFleetThroughAgents(t *testing.T) {
	cfg := devenv.Defaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.DatabaseURL = dbtest.NewURL(t)
	cfg.SimDelay = 0
	cfg.HeartbeatInterval = 200 * time.Millisecond
	cfg.LogLevel = "warn"
	devenv.Complete(&cfg)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() {
		done <- devenv.Run(ctx, cfg, devenv.Options{Stdout: &out, Ready: func(u string) { ready <- u },
			Getenv: func(k string) string {
				if k == devenv.PasswordEnv {
					return "a dev password for tests"
				}
				return ""
			}})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("dev did not stop")
		}
	})
	var url string
	select {
	case url = <-ready:
	case err := <-done:
		t.Fatalf("dev did not start: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("dev did not start")
	}
	bg := context.Background()
	pair, err := sdk.New(url).Login(bg, "demo", "a dev password for tests")
	if err != nil {
		t.Fatal(err)
	}
	c := sdk.New(url, sdk.WithAccessToken(pair.AccessToken))
	a, err := c.CreateAllocation(bg, api.CreateAllocationRequest{SkuId: "h200-141gb-x1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for a.Status != api.AllocationStatusActive {
		if time.Now().After(deadline) {
			t.Fatalf("allocation still %s", a.Status)
		}
		time.Sleep(50 * time.Millisecond)
		if a, err = c.GetAllocation(bg, a.Id); err != nil {
			t.Fatal(err)
		}
	}
	// The simulated nodes offer containers too: a Jupyter allocation
	// becomes active in a first look.
	j, err := c.CreateAllocation(bg, api.CreateAllocationRequest{SkuId: "h200-141gb-x1",
		Workload: &api.WorkloadRequest{Launchable: "jupyter"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	for j.Status != api.AllocationStatusActive {
		if time.Now().After(deadline) {
			t.Fatalf("jupyter allocation still %s", j.Status)
		}
		time.Sleep(50 * time.Millisecond)
		if j, err = c.GetAllocation(bg, j.Id); err != nil {
			t.Fatal(err)
		}
	}
	if j.Workload == nil || j.Workload.Runtime != api.AllocationWorkloadRuntimeDocker {
		t.Fatalf("jupyter allocation's workload: %+v", j.Workload)
	}
	// Storage works in a first look: an fs backend under the data dir.
	res, err := c.Do(bg, "PUT", "/api/v1/storage/upload?path=hello.txt", strings.NewReader("hello"), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("dev storage upload: %d", res.StatusCode)
	}
	if matches, _ := filepath.Glob(filepath.Join(cfg.DataDir, "storage", "u-*", "hello.txt")); len(matches) != 1 {
		t.Fatalf("the upload is not under <data-dir>/storage: %v", matches)
	}
	nodes, err := c.ListNodes(bg, api.ListNodesParams{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes.Items {
		if n.AgentVersion == nil || *n.AgentVersion == "" || n.Status != api.NodeStatusOnline {
			t.Fatalf("node %s is not run by a connected agent: %+v", n.Hostname, n)
		}
	}
}
