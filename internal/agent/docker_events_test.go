package agent_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agent"
	"github.com/gpuaas/gpuaas/internal/agent/runtime/docker"
	"github.com/gpuaas/gpuaas/internal/agent/runtime/docker/dockertest"
	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/allocation"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
	"github.com/gpuaas/gpuaas/sdk"
)

// TestDockerEventsLogsAndReadiness: a real control plane, agent and engine.
// A container's life is in its events (requested, created, started,
// healthy per app, releasing, removed; exited with its code); its apps
// turn ready once they listen (the launchable's HTTP probe on one port, a
// TCP connection on the other) and the allocation row says so; its logs
// (stdout and stderr) come over the agent's connection, the last N lines
// or followed as they are written.
func TestDockerEventsLogsAndReadiness(t *testing.T) {
	t.Parallel()
	host := dockertest.Host(t)
	drt, err := docker.New(ctx, host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { drt.Close() })
	drt.StopTimeout = time.Second
	drt.Scope = "test-" + uuid.NewString()

	env := servertest.Start(t, func(c *config.Server) { c.Runtime = "agent"; c.HeartbeatInterval = 200 * time.Millisecond })
	node, jt := env.H200Node(t, "h200-host")
	cfg := agent.Config{Server: env.URL, JoinToken: jt, DataDir: t.TempDir(), Runtime: "sim,docker",
		Runtimes: []string{agentproto.RuntimeProcess, agentproto.RuntimeDocker}, Version: "test", Discoverer: h200(t),
		NodeRuntime: agent.MultiRuntime{Process: agent.SimRuntime{}, Docker: agent.DockerRuntime{RT: drt}},
		MaxBackoff:  200 * time.Millisecond}
	ag := start(cfg)
	t.Cleanup(func() { ag.stop(t) })
	eventually(t, 10*time.Second, "node online", func() bool {
		n, err := env.App.Inventory.GetNode(ctx, node.Id)
		return err == nil && n.Status == api.NodeStatusOnline
	})
	env.Fund(t, 100_000)
	c, u := env.As("user")
	other, _ := env.As("user")
	create := func(spec allocation.Spec) api.Allocation {
		t.Helper()
		var a api.Allocation
		err := env.App.Store.InTx(ctx, func(tx *store.Store) error {
			var err error
			a, err = env.App.Allocations.CreateIn(ctx, tx, u.Id, allocation.CreateRequest{SKUID: "h200-x1", Container: &spec})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = drt.Release(ctx, a.Id) })
		return a
	}
	eventsOf := func(id uuid.UUID) []api.AllocationEvent {
		t.Helper()
		resp, err := c.Do(ctx, "GET", "/api/v1/allocations/"+id.String()+"/events", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var l api.AllocationEventList
		if err := json.NewDecoder(resp.Body).Decode(&l); err != nil || resp.StatusCode != 200 {
			t.Fatalf("events: %d %v", resp.StatusCode, err)
		}
		return l.Items
	}
	kindsOf := func(evs []api.AllocationEvent) []string {
		var k []string
		for _, e := range evs {
			k = append(k, e.Kind)
		}
		return k
	}

	// The jupyter launchable's health probe (GET /api/status on 8888)
	// is what the catalogue names; busybox httpd answers it 404, which
	// counts as up. Port "raw" has no probe: a TCP connection decides.
	// Both start listening only after a second.
	script := `echo one; echo two >&2; sleep 1; httpd -p 9000 -h /tmp; ` +
		`(i=0; while true; do i=$((i+1)); echo tick$i; sleep 0.2; done) & exec httpd -f -p 8888 -h /tmp`
	a := create(allocation.Spec{Launchable: "jupyter", Image: dockertest.Image, Command: []string{"sh", "-c", script},
		Ports: []agentproto.ContainerPort{{Name: "lab", Port: 8888}, {Name: "raw", Port: 9000, Protocol: "tcp"}}})
	a = waitAllocation(t, c, a, api.AllocationStatusActive)
	var row db.Allocation
	eventually(t, 20*time.Second, "both apps ready", func() bool {
		row, err = env.App.Store.GetAllocation(ctx, db.GetAllocationParams{ID: a.Id})
		if err != nil {
			t.Fatal(err)
		}
		return allocation.AppReady(row, "lab") && allocation.AppReady(row, "raw")
	})
	evs := eventsOf(a.Id)
	k := kindsOf(evs)
	if len(k) < 5 || !slices.Equal(k[:3], []string{"requested", "created", "started"}) ||
		!slices.Contains(k, "healthy") || strings.Contains(strings.Join(k, ","), "unhealthy") {
		t.Fatalf("events of a running container: %v", k)
	}
	var healthy []string
	for _, e := range evs {
		if e.Kind == "healthy" {
			healthy = append(healthy, e.Message)
		}
	}
	if len(healthy) != 2 {
		t.Errorf("healthy events %v, want one per app", healthy)
	}

	// Logs: the last lines, stdout and stderr both; another user gets 404.
	logs := "/api/v1/allocations/" + a.Id.String() + "/logs"
	get := func(c *sdk.Client, ctx context.Context, q string) *http.Response {
		t.Helper()
		resp, err := c.Do(ctx, "GET", logs+q, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := get(c, ctx, "?tail=10000")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") ||
		!strings.Contains(string(body), "one\n") || !strings.Contains(string(body), "two\n") || !strings.Contains(string(body), "tick1\n") {
		t.Fatalf("logs: %d %q", resp.StatusCode, body)
	}
	resp = get(c, ctx, "?tail=1")
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "tick") {
		t.Errorf("tail=1: %q", body)
	}
	if resp := get(other, ctx, ""); resp.StatusCode != 404 {
		t.Errorf("another user's logs: %d", resp.StatusCode)
	}
	// Following: lines written after the request arrive on the open
	// response; the client going away ends it.
	// (A plain client: the test clients' contract check reads a whole
	// body before it hands it over.)
	_, pair := env.Login(u)
	fctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	req, _ := http.NewRequestWithContext(fctx, "GET", env.URL+logs+"?tail=0&follow=true", nil)
	req.Header.Set("Authorization", "Bearer "+pair.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("follow: %v %v", resp, err)
	}
	sc := bufio.NewScanner(resp.Body)
	var followed []string
	for len(followed) < 3 && sc.Scan() {
		followed = append(followed, sc.Text())
	}
	cancel()
	resp.Body.Close()
	if len(followed) < 3 || !strings.HasPrefix(followed[0], "tick") {
		t.Fatalf("followed %v (%v)", followed, sc.Err())
	}

	if _, err := c.ReleaseAllocation(ctx, a.Id); err != nil {
		t.Fatal(err)
	}
	waitAllocation(t, c, a, api.AllocationStatusReleased)
	k = kindsOf(eventsOf(a.Id))
	if !slices.Equal(k[len(k)-2:], []string{"releasing", "removed"}) {
		t.Errorf("events after release: %v", k)
	}
	if row, _ = env.App.Store.GetAllocation(ctx, db.GetAllocationParams{ID: a.Id}); len(row.AppsReady) != 0 {
		t.Errorf("a released allocation's apps ready: %v", row.AppsReady)
	}

	// A container that exits: its code is an event, then failed and removed.
	b := create(allocation.Spec{Launchable: "container", Image: dockertest.Image, Command: []string{"sh", "-c", "sleep 0.3; exit 3"}})
	eventually(t, 30*time.Second, "exit recorded and container removed", func() bool {
		k := kindsOf(eventsOf(b.Id))
		return len(k) > 0 && k[len(k)-1] == "removed"
	})
	evs = eventsOf(b.Id)
	if k := kindsOf(evs); !slices.Equal(k, []string{"requested", "created", "started", "exited", "failed", "removed"}) {
		t.Fatalf("events of an exit: %v", k)
	}
	if e := evs[3]; e.ExitCode == nil || *e.ExitCode != 3 || e.Message != "Container exited with code 3" {
		t.Errorf("exit event %+v", e)
	}
}
