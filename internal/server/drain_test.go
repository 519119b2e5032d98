package server_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
)

// TestDrainReleasesAtTheDeadline: a drained node takes no new allocation
// from the moment the drain returns, even with creates racing it; its
// owners are told when; at the deadline what runs there is released with
// reason "maintenance: <reason>" and charged exactly up to the deadline
// (the release request is dated there, whenever the sweeper runs). An
// in-use node cannot be decommissioned; an empty one can, for good.
func TestDrainReleasesAtTheDeadline(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, func(c *config.Server) { c.SimDelay = 20 * time.Millisecond })
	seedInventory(t, env)
	env.Fund(t, 1_000_000)
	admin, _ := env.As("admin")
	c, _ := env.As("user")

	id := createAllocWith(t, c)
	a := waitStatus(t, c, id, api.AllocationStatusActive)
	node := *a.NodeId

	// Bad drains name the field.
	now := time.Now()
	for _, tc := range []struct {
		req   string
		field string
	}{
		{`{"reason":"kernel","deadline":"` + now.Add(-time.Minute).UTC().Format(time.RFC3339) + `"}`, "deadline"},
		{`{"reason":"kernel","deadline":"` + now.Add(31*24*time.Hour).UTC().Format(time.RFC3339) + `"}`, "deadline"},
		{`{"reason":"  ","deadline":"` + now.Add(time.Hour).UTC().Format(time.RFC3339) + `"}`, "reason"},
	} {
		status, body, _ := raw(t, admin, "POST", "/api/v1/admin/nodes/"+node.String()+"/drain", tc.req, nil)
		details, _ := body["details"].(map[string]any)
		if status != http.StatusBadRequest || details["field"] != tc.field {
			t.Errorf("drain %s: %d %v", tc.req, status, body)
		}
	}
	if status, _, _ := raw(t, admin, "POST", "/api/v1/admin/nodes/"+node.String()+"/drain", `{"reason":"x","deadline":"tomorrow"}`, nil); status != http.StatusBadRequest {
		t.Errorf("a deadline that is not RFC 3339: %d", status)
	}

	// Creates race the drain; once it has returned, none lands on the node.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, _ = c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1"}, uuid.NewString())
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	deadline := time.Now().Add(3 * time.Second).UTC().Truncate(time.Second)
	n, err := admin.AdminDrainNode(ctx, node, api.DrainNodeRequest{Reason: "kernel upgrade", Deadline: deadline})
	if err != nil {
		t.Fatal(err)
	}
	drained := time.Now()
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	if n.AdminState != api.NodeAdminStateDraining || n.DrainDeadline == nil || !n.DrainDeadline.Equal(deadline) || *n.DrainReason != "kernel upgrade" {
		t.Fatalf("drained node %+v", n)
	}
	var late int
	if err := env.App.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM allocations WHERE node_id = $1 AND created_at > $2`,
		node, drained).Scan(&late); err != nil || late != 0 {
		t.Fatalf("%d allocations landed on the draining node after the drain returned (%v)", late, err)
	}

	// The owner's allocation shows when, and why.
	if mine, err := c.GetAllocation(ctx, id); err != nil || mine.Status == api.AllocationStatusActive &&
		(mine.NodeDrainDeadline == nil || !mine.NodeDrainDeadline.Equal(deadline) || mine.NodeDrainReason == nil || *mine.NodeDrainReason != "kernel upgrade") {
		t.Errorf("the owner's allocation while draining: deadline %v reason %v (%v)", mine.NodeDrainDeadline, mine.NodeDrainReason, err)
	}

	// Before the deadline the node still holds the allocation: it cannot
	// be decommissioned.
	if _, err := admin.AdminDecommissionNode(ctx, node); err == nil {
		t.Fatal("decommissioned a node in use")
	} else {
		wantErr(t, err, 409, "node_in_use")
	}

	// The owner is told when.
	eventuallyT(t, 10*time.Second, "the owner is told of the drain", func() bool {
		list, err := c.ListNotifications(ctx, api.ListNotificationsParams{})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range list.Items {
			if it.Kind == "node.draining" && it.AllocationId != nil && *it.AllocationId == id {
				return true
			}
		}
		return false
	})

	// At the deadline: released, for maintenance, charged up to it.
	a = waitStatus(t, c, id, api.AllocationStatusReleased)
	if a.NodeDrainDeadline != nil || a.NodeDrainReason != nil {
		t.Errorf("a released allocation still shows the drain: %v %v", a.NodeDrainDeadline, a.NodeDrainReason)
	}
	if a.ReleaseReason != "maintenance: kernel upgrade" ||
		a.ReleaseRequestedAt == nil || !a.ReleaseRequestedAt.Equal(deadline) {
		t.Fatalf("released %v at %v, want reason maintenance: kernel upgrade at %v", a.ReleaseReason, a.ReleaseRequestedAt, deadline)
	}
	usage, err := c.ListUsage(ctx, api.ListUsageParams{AllocationId: &id})
	if err != nil || len(usage.Items) != 1 {
		t.Fatalf("usage %+v %v", usage, err)
	}
	u := usage.Items[0]
	secs := int64(deadline.Sub(*a.ActiveAt).Seconds() + 0.999999)
	if u.EndedAt == nil || !u.EndedAt.Equal(deadline) || u.Seconds != secs || u.AmountMinor != (secs*a.PricePerHourMinor+3599)/3600 {
		t.Errorf("usage %+v, want %d s up to %v", u, secs, deadline)
	}

	var inUse int
	eventuallyT(t, 15*time.Second, "the drained node empties", func() bool {
		_ = env.App.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM gpus WHERE node_id = $1 AND allocation_id IS NOT NULL`, node).Scan(&inUse)
		return inUse == 0
	})
	back, err := admin.AdminUndrainNode(ctx, node)
	if err != nil || back.AdminState != api.NodeAdminStateActive || back.DrainDeadline != nil {
		t.Fatalf("undrain: %+v %v", back, err)
	}
	if _, err := admin.AdminUndrainNode(ctx, node); wantErr(t, err, 409, "invalid_state") == nil {
		t.Error("undrained an active node")
	}
	gone, err := admin.AdminDecommissionNode(ctx, node)
	if err != nil || gone.AdminState != api.NodeAdminStateDecommissioned {
		t.Fatalf("decommission: %+v %v", gone, err)
	}
	if _, err := admin.AdminEnableNode(ctx, node); wantErr(t, err, 409, "invalid_state") == nil {
		t.Error("enabled a decommissioned node")
	}
	if _, err := admin.AdminIssueJoinToken(ctx, node); wantErr(t, err, 409, "invalid_state") == nil {
		t.Error("issued a join token for a decommissioned node")
	}
	if _, err := admin.AdminDrainNode(ctx, node, api.DrainNodeRequest{Reason: "x", Deadline: time.Now().Add(time.Hour)}); wantErr(t, err, 409, "invalid_state") == nil {
		t.Error("drained a decommissioned node")
	}
}

func eventuallyT(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
