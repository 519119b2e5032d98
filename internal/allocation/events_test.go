package allocation_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/allocation"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// TestReportAppsFlipsReadiness: a node's readiness report sets apps_ready
// and stores a healthy or unhealthy event per port that flipped, once; a
// report from another node, or for an allocation that is not active,
// changes nothing; leaving active clears it.
func TestReportAppsFlipsReadiness(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	u := f.user(t)
	wk := allocation.NewWorker(f.svc, allocation.NewSim(0, 0))
	a, err := f.create(t, u, "h100-x1")
	must(t, err)
	must(t, wk.Drive(ctx, a.Id))
	node := *a.NodeId
	row := func() db.Allocation {
		r, err := f.st.GetAllocation(ctx, db.GetAllocationParams{ID: a.Id})
		must(t, err)
		return r
	}
	report := func(n uuid.UUID, ready ...string) {
		t.Helper()
		must(t, wk.ReportApps(ctx, n, []agentproto.AppReadiness{{AllocationID: a.Id.String(), Ready: ready}}))
	}
	events := func(kind string) int {
		return f.count(t, `SELECT count(*) FROM allocation_events WHERE allocation_id = $1 AND kind = $2`, a.Id, kind)
	}
	report(uuid.New(), "lab")
	if allocation.AppReady(row(), "lab") {
		t.Fatal("another node's report made an app ready")
	}
	report(node, "lab", "ssh")
	report(node, "ssh", "lab") // the same, in another order
	if r := row(); !allocation.AppReady(r, "lab") || !allocation.AppReady(r, "ssh") || events("healthy") != 2 {
		t.Fatalf("ready: %v, %d healthy events", r.AppsReady, events("healthy"))
	}
	report(node, "ssh")
	if r := row(); allocation.AppReady(r, "lab") || events("unhealthy") != 1 {
		t.Fatalf("lab down: %v, %d unhealthy events", r.AppsReady, events("unhealthy"))
	}
	if _, err := f.svc.Release(ctx, u, a.Id); err != nil {
		t.Fatal(err)
	}
	if r := row(); len(r.AppsReady) != 0 || allocation.AppReady(r, "ssh") {
		t.Fatalf("a releasing allocation's apps ready: %v", r.AppsReady)
	}
	report(node, "ssh", "lab")
	if r := row(); len(r.AppsReady) != 0 {
		t.Fatalf("a report for an allocation no longer active: %v", r.AppsReady)
	}
}
