package allocation_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/allocation"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
	"github.com/gpuaas/gpuaas/internal/store/dbtest"
)

// Placement: GPUs taken once whatever races them, nodes packed full
// without wasted tries, and the runtime a workload needs.

// TestConcurrentCreatesNeverDoubleBook races many creates for the last few
// GPUs: exactly as many succeed as there are GPUs, each GPU is held once,
// and the rest are told there is no capacity.
func TestConcurrentCreatesNeverDoubleBook(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3, 2) // 5 GPUs on two nodes
	const racers = 24
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, full := 0, 0
	var other []error
	for i := 0; i < racers; i++ {
		u := f.user(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.create(t, u, "h100-x1")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case apperr.HasCode(err, allocation.CodeInsufficientCapacity):
				full++
			default:
				other = append(other, err)
			}
		}()
	}
	wg.Wait()
	if len(other) > 0 {
		t.Fatalf("unexpected errors: %v", errors.Join(other...))
	}
	if won != 5 || full != racers-5 {
		t.Fatalf("won %d, full %d; want 5 and %d", won, full, racers-5)
	}
	if n := f.count(t, `SELECT count(DISTINCT allocation_id) FROM gpus WHERE allocation_id IS NOT NULL`); n != 5 {
		t.Fatalf("%d allocations hold GPUs", n)
	}
	if n := f.count(t, `SELECT count(*) FROM (SELECT g->>'uuid' AS u FROM allocations, jsonb_array_elements(gpus) g
		GROUP BY 1 HAVING count(*) > 1) d`); n != 0 {
		t.Fatalf("%d GPUs placed twice", n)
	}
	checkCapacity(t, f)
}

// Best fit packs nodes full; the candidate cache counts its own placements
// off each node's free GPUs, so filling a node never costs the next create
// a try on it. All ten GPUs go without a miss and with one read of the
// fleet per SKU; the eleventh create is refused after one more.
func TestPackingNodesFullWastesNoTries(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 4, 4, 2)
	u := f.user(t)
	for i := 0; i < 3; i++ {
		if _, err := f.create(t, u, "h100-x2"); err != nil {
			t.Fatalf("x2 create %d: %v", i, err)
		}
	}
	for i := 0; i < 4; i++ {
		if _, err := f.create(t, u, "h100-x1"); err != nil {
			t.Fatalf("x1 create %d: %v", i, err)
		}
	}
	_, err := f.create(t, u, "h100-x1")
	wantCode(t, err, allocation.CodeInsufficientCapacity)
	if n := f.metric(t, "gpuaas_allocation_placement_misses_total"); n != 0 {
		t.Fatalf("%v placement tries on full nodes", n)
	}
	if n := f.metric(t, "gpuaas_allocation_placement_scans_total"); n != 3 {
		t.Fatalf("%v reads of the fleet, want 3 (one per SKU, one before refusing)", n)
	}
	checkCapacity(t, f)
}

// metric is the value of one of the service's unlabelled counters.
func (f *fixture) metric(t *testing.T, name string) float64 {
	t.Helper()
	mfs, err := f.reg.Gather()
	must(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// seenSKU is a user whose first create of h100-x1 went through: the
// service has read the SKU and cached its candidates, so the next create
// of it places early.
func (f *fixture) seenSKU(t *testing.T) uuid.UUID {
	t.Helper()
	u := f.user(t)
	_, err := f.create(t, u, "h100-x1")
	must(t, err)
	return u
}

// TestEarlyPlacementSavesARoundTrip: once a create has read a SKU, the
// next create of it places its allocation in the round trip of its first
// reads, so it takes two round trips (reads with the placement; the
// writes with COMMIT) instead of three.
func TestEarlyPlacementSavesARoundTrip(t *testing.T) {
	t.Parallel()
	st, trips := dbtest.NewCounting(t)
	f := fixtureOn(t, st, 2)
	u := f.seenSKU(t)
	trips.Reset()
	a, err := f.create(t, u, "h100-x1")
	must(t, err)
	if n := trips.N(); n != 2 {
		t.Errorf("a create made %d round trips, want 2", n)
	}
	if n := f.metric(t, "gpuaas_allocation_early_placements_total"); n != 1 {
		t.Errorf("%v early placements, want 1", n)
	}
	if a.Status != api.AllocationStatusRequested || len(a.Gpus) != 1 || a.PricePerHourMinor != 3600 || a.Currency != "USD" {
		t.Errorf("created %+v", a)
	}
	checkCapacity(t, f)
}

// TestEarlyPlacementFollowsTheSKU: an early placement is made from the SKU
// as an earlier create saw it, and PlaceAllocation refuses it when the SKU
// has changed since, so the create places as usual at the SKU's price of
// now; a SKU taken out of the catalogue is not placed at all.
func TestEarlyPlacementFollowsTheSKU(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 4)
	u := f.seenSKU(t)
	_, err := f.st.Pool().Exec(ctx, `UPDATE skus SET price_per_hour_minor = 7200 WHERE id = 'h100-x1'`)
	must(t, err)
	a, err := f.create(t, u, "h100-x1")
	must(t, err)
	if a.PricePerHourMinor != 7200 {
		t.Fatalf("placed at %d an hour after the SKU went to 7200", a.PricePerHourMinor)
	}
	if early, misses := f.metric(t, "gpuaas_allocation_early_placements_total"), f.metric(t, "gpuaas_allocation_placement_misses_total"); early != 0 || misses != 1 {
		t.Fatalf("early placements %v, misses %v; want 0 and 1 (the stale try)", early, misses)
	}
	// The next create places early again, from the SKU as it is now.
	a, err = f.create(t, u, "h100-x1")
	must(t, err)
	if a.PricePerHourMinor != 7200 || f.metric(t, "gpuaas_allocation_early_placements_total") != 1 {
		t.Fatalf("price %d, early placements %v", a.PricePerHourMinor, f.metric(t, "gpuaas_allocation_early_placements_total"))
	}
	_, err = f.st.Pool().Exec(ctx, `UPDATE skus SET active = false WHERE id = 'h100-x1'`)
	must(t, err)
	_, err = f.create(t, u, "h100-x1")
	if !apperr.IsKind(err, apperr.KindNotFound) {
		t.Fatalf("create of an inactive SKU: %v, want not found", err)
	}
	if n := f.count(t, `SELECT count(*) FROM allocations`); n != 3 {
		t.Fatalf("%d allocations, want 3", n)
	}
	checkCapacity(t, f)
}

// TestRefusedCreateUndoesItsEarlyPlacement: what a create checks after its
// reads still decides: a create refused for its runway leaves no
// allocation and no GPU held, though its placement went with the reads.
func TestRefusedCreateUndoesItsEarlyPlacement(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2)
	u := f.seenSKU(t)
	f.balance = 0
	_, err := f.create(t, u, "h100-x1")
	wantCode(t, err, allocation.CodeInsufficientFunds)
	if n := f.count(t, `SELECT count(*) FROM allocations`); n != 1 {
		t.Fatalf("%d allocations after a refused create, want 1", n)
	}
	if n := f.count(t, `SELECT count(*) FROM gpus WHERE allocation_id IS NOT NULL`); n != 1 {
		t.Fatalf("%d GPUs held after a refused create, want 1", n)
	}
	checkCapacity(t, f)
}

// TestEarlyMissIsNotTriedAgain: a node that an early placement found
// short (another replica took its last GPU) leaves the cached list, as in
// an ordinary placement, so the create does not try it a second time.
func TestEarlyMissIsNotTriedAgain(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2)
	u := f.seenSKU(t)
	// Another replica takes the node's last GPU.
	_, err := db.New(f.st.Pool()).PlaceAllocation(ctx, f.onNode0(t, u))
	must(t, err)
	_, err = f.create(t, u, "h100-x1")
	wantCode(t, err, allocation.CodeInsufficientCapacity)
	if n := f.metric(t, "gpuaas_allocation_placement_misses_total"); n != 1 {
		t.Fatalf("%v tries on the full node, want 1", n)
	}
	checkCapacity(t, f)
}

// TestGPUReservationIsHeapOnly: reserving a GPU and freeing it change no
// indexed column, so both are heap-only (HOT) updates: no index of gpus
// grows on a create or a release.
func TestGPUReservationIsHeapOnly(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2)
	u := f.user(t)
	p := f.onNode0(t, u)
	tx, err := f.st.Pool().Begin(ctx)
	must(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	q := db.New(tx)
	a, err := q.PlaceAllocation(ctx, p)
	must(t, err)
	freed, err := q.FreeGPUs(ctx, a.ID)
	must(t, err)
	var updated, hot int64
	must(t, tx.QueryRow(ctx, `SELECT pg_stat_get_xact_tuples_updated('gpus'::regclass),
		pg_stat_get_xact_tuples_hot_updated('gpus'::regclass)`).Scan(&updated, &hot))
	if freed != 1 || updated != 2 || hot != 2 {
		t.Fatalf("freed %d; %d GPU row updates, %d of them heap-only; want 1, 2 and 2", freed, updated, hot)
	}
}

// onNode0 is a placement of h100-x1 for user u on node-0, as the store
// takes it, for tests that place beside the service.
func (f *fixture) onNode0(t *testing.T, u uuid.UUID) db.PlaceAllocationParams {
	t.Helper()
	var node uuid.UUID
	must(t, f.st.Pool().QueryRow(ctx, `SELECT id FROM nodes WHERE hostname = 'node-0'`).Scan(&node))
	return db.PlaceAllocationParams{NodeID: node, Runtime: allocation.RuntimeProcess, SkuID: "h100-x1",
		Model: h100, GpuCount: 1, PricePerHourMinor: 3600, Currency: "USD", UserID: u, CreatedBy: u}
}

// checkCapacity holds the trigger-kept capacity table against a count.
func checkCapacity(t *testing.T, f *fixture) {
	t.Helper()
	if n := f.count(t, `SELECT count(*) FROM node_gpu_capacity c WHERE c.free <> (SELECT count(*) FROM gpus g
		WHERE g.node_id = c.node_id AND g.model = c.model AND g.allocation_id IS NULL AND g.health = 'healthy')`); n != 0 {
		t.Fatalf("%d capacity rows disagree with the GPUs", n)
	}
}

// TestPlacementNeedsTheRuntime: a container allocation goes only to a node
// whose agent offers docker, even when another node has free GPUs; a
// process allocation still goes anywhere with process; the workload is
// kept with the SKU's limits.
func TestPlacementNeedsTheRuntime(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, 1)
	_, err := f.st.Pool().Exec(ctx, `UPDATE nodes SET runtimes = '{process}' WHERE hostname = 'node-0'`)
	must(t, err)
	_, err = f.st.Pool().Exec(ctx, `UPDATE skus SET vcpu = 8, memory_mib = 65536 WHERE id = 'h100-x1'`)
	must(t, err)
	u := f.user(t)
	createContainer := func() (api.Allocation, error) {
		var a api.Allocation
		err := f.st.InTx(ctx, func(tx *store.Store) error {
			var err error
			a, err = f.svc.CreateIn(ctx, tx, u, allocation.CreateRequest{SKUID: "h100-x1",
				Container: &allocation.Spec{Launchable: "container", Image: "ci/busybox:latest"}})
			return err
		})
		return a, err
	}
	a, err := createContainer()
	must(t, err)
	row, err := f.st.GetAllocation(ctx, db.GetAllocationParams{ID: a.Id})
	must(t, err)
	var host string
	must(t, f.st.Pool().QueryRow(ctx, `SELECT hostname FROM nodes WHERE id = $1`, row.NodeID.UUID).Scan(&host))
	if host != "node-1" || row.Runtime != allocation.RuntimeDocker {
		t.Fatalf("container allocation on %s with runtime %q, want node-1 and docker", host, row.Runtime)
	}
	if got := string(row.Workload); !strings.Contains(got, `"vcpu": 8`) || !strings.Contains(got, `"memory_mib": 65536`) ||
		!strings.Contains(got, `"image": "ci/busybox:latest"`) {
		t.Errorf("workload: %s", got)
	}
	// node-0 has a free GPU but no docker runtime.
	if _, err := createContainer(); !apperr.HasCode(err, allocation.CodeInsufficientCapacity) || !strings.Contains(err.Error(), "docker runtime") {
		t.Fatalf("second container allocation: %v, want insufficient_capacity naming the runtime", err)
	}
	p, err := f.create(t, u, "h100-x1")
	must(t, err)
	row, err = f.st.GetAllocation(ctx, db.GetAllocationParams{ID: p.Id})
	must(t, err)
	must(t, f.st.Pool().QueryRow(ctx, `SELECT hostname FROM nodes WHERE id = $1`, row.NodeID.UUID).Scan(&host))
	if host != "node-0" || row.Runtime != allocation.RuntimeProcess || row.Workload != nil {
		t.Errorf("shell allocation on %s, runtime %q, workload %s", host, row.Runtime, row.Workload)
	}
}
