package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/sdk"
)

// events reads a page of an allocation's events over HTTP.
func events(t *testing.T, c *sdk.Client, path string) (int, api.AllocationEventList) {
	t.Helper()
	resp, err := c.Do(ctx, "GET", path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out api.AllocationEventList
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK {
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&out); err != nil {
			t.Fatalf("%s: %v: %s", path, err, b)
		}
	}
	return resp.StatusCode, out
}

func kinds(l api.AllocationEventList) string {
	var k []string
	for _, e := range l.Items {
		k = append(k, e.Kind)
	}
	return strings.Join(k, ",")
}

// TestAllocationEventsAndLogsOverHTTP: a container allocation on the
// in-process sim runtime stores its life as events, each saying it is
// simulated; a shell allocation's are derived from its row; pages follow
// the cursor; another user gets 404; logs refuse a shell (409), a bad tail
// (400 naming it), and, with no agent for the node, answer 503
// node_unreachable.
func TestAllocationEventsAndLogsOverHTTP(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, func(c *config.Server) { c.ImageAllow = config.StringList{"ci/*"} })
	seedInventory(t, env)
	env.Fund(t, 100_000)
	c, _ := env.As("user")
	other, _ := env.As("user")

	a, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1", Workload: &api.WorkloadRequest{
		Launchable: "container", Image: ptr("ci/busybox:latest")}}, "")
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, a.Id, api.AllocationStatusActive)
	path := "/api/v1/allocations/" + a.Id.String() + "/events"
	status, list := events(t, c, path)
	if status != 200 || kinds(list) != "requested,created,started" || list.NextCursor != "" {
		t.Fatalf("events %d %+v", status, list)
	}
	if m := list.Items[2].Message; !strings.Contains(m, "Simulated") || !strings.Contains(m, "gpuaas dev runs no containers") {
		t.Errorf("a simulated start reads %q", m)
	}
	if !strings.Contains(list.Items[0].Message, "ci/busybox:latest") {
		t.Errorf("requested: %q", list.Items[0].Message)
	}
	// Pages, oldest first.
	status, page := events(t, c, path+"?page_size=2")
	if status != 200 || kinds(page) != "requested,created" || page.NextCursor == "" {
		t.Fatalf("first page %d %+v", status, page)
	}
	status, page = events(t, c, path+"?page_size=2&cursor="+page.NextCursor)
	if status != 200 || kinds(page) != "started" || page.NextCursor != "" {
		t.Fatalf("second page %d %+v", status, page)
	}
	if status, _ := events(t, other, path); status != 404 {
		t.Errorf("another user's events: %d, want 404", status)
	}

	// Logs: a bad tail names the field; another user is 404; no agent
	// holds the sim node's session here: 503 node_unreachable.
	logs := "/api/v1/allocations/" + a.Id.String() + "/logs"
	for _, q := range []string{"?tail=abc", "?tail=-1", "?tail=10001", "?follow=maybe"} {
		status, e, _ := raw(t, c, "GET", logs+q, "", nil)
		field := strings.Split(strings.TrimPrefix(q, "?"), "=")[0]
		if status != 400 || !strings.Contains(e["message"].(string), field) {
			t.Errorf("logs%s: %d %v, want 400 naming %s", q, status, e, field)
		}
	}
	if status, _, _ := raw(t, other, "GET", logs, "", nil); status != 404 {
		t.Errorf("another user's logs: %d, want 404", status)
	}
	if status, e, _ := raw(t, c, "GET", logs+"?tail=5", "", nil); status != 503 || e["code"] != "node_unreachable" {
		t.Errorf("logs without an agent: %d %v, want 503 node_unreachable", status, e)
	}

	if _, err := c.ReleaseAllocation(ctx, a.Id); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, a.Id, api.AllocationStatusReleased)
	if _, list = events(t, c, path); kinds(list) != "requested,created,started,releasing,removed" ||
		!strings.Contains(list.Items[4].Message, "Simulated") {
		t.Fatalf("after release: %+v", list)
	}

	// A shell allocation stores no events; its lifecycle is read off its row.
	shell, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, shell.Id, api.AllocationStatusActive)
	if status, list := events(t, c, "/api/v1/allocations/"+shell.Id.String()+"/events"); status != 200 ||
		kinds(list) != "requested,started" || list.Items[0].Id != 1 || list.Items[1].Id != 2 {
		t.Fatalf("shell events %d %+v", status, list)
	}
	var stored int
	if err := env.App.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM allocation_events WHERE allocation_id = $1`, shell.Id).Scan(&stored); err != nil || stored != 0 {
		t.Fatalf("a shell allocation stored %d events (%v)", stored, err)
	}
	if status, e, _ := raw(t, c, "GET", "/api/v1/allocations/"+shell.Id.String()+"/logs", "", nil); status != 409 || e["code"] != "invalid_state" {
		t.Errorf("shell logs: %d %v, want 409 invalid_state", status, e)
	}
}
