package allocation_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/allocation"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/inventory"
	"github.com/gpuaas/gpuaas/internal/ledger"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
	"github.com/gpuaas/gpuaas/internal/store/dbtest"
	"github.com/gpuaas/gpuaas/internal/users"
)

var ctx = context.Background()

const h100 = "NVIDIA H100 80GB HBM3"

type fixture struct {
	st  *store.Store
	svc *allocation.Service
	sim *allocation.Sim
	wk  *allocation.Worker
	reg *prometheus.Registry
	// balance is what the stub balance locker answers.
	balance int64
}

// newFixture: region r1, SKUs x1 and x2 of H100 at 3600/h, and nodes
// with the given GPU counts.
func newFixture(t *testing.T, nodes ...int) *fixture {
	t.Helper()
	return fixtureOn(t, dbtest.New(t), nodes...)
}

// fixtureOn is newFixture on a fresh database's store of the caller's.
func fixtureOn(t *testing.T, st *store.Store, nodes ...int) *fixture {
	t.Helper()
	f := &fixture{st: st, balance: 1 << 40, reg: prometheus.NewRegistry()}
	inv := inventory.New(f.st)
	must(t, inv.SeedRegion(ctx, inventory.Region{ID: "r1", Name: "R1"}))
	for _, n := range []int{1, 2} {
		must(t, inv.SeedSKU(ctx, api.SKU{Id: fmt.Sprintf("h100-x%d", n), Name: "H100", GpuModel: h100, GpuCount: n,
			PricePerHourMinor: 3600, Currency: "USD", Region: "r1", Active: true}))
	}
	for i, count := range nodes {
		var gpus []inventory.GPUSpec
		for j := 0; j < count; j++ {
			gpus = append(gpus, inventory.GPUSpec{Index: j, UUID: fmt.Sprintf("GPU-%d-%d", i, j), Model: h100, MemoryMiB: 81559})
		}
		if _, err := inv.SeedNode(ctx, fmt.Sprintf("node-%d", i), "r1", gpus); err != nil {
			t.Fatal(err)
		}
	}
	f.svc = allocation.New(f.st, allocation.Config{
		Naming: events.Naming{Namespace: "test"}, MinRunway: 10 * time.Minute,
		// The real account lock, so racing creates serialise as in
		// production, with the balance the test sets.
		LockFunds: func(ctx context.Context, u uuid.UUID, skuID string) ([]func(*db.Queries) error, func(*store.Store, db.Sku) (allocation.Funds, error)) {
			var fig db.RunwayFiguresRow
			var figErr error
			lock := ledger.LockBalanceForSKU(ctx, u, skuID, func(q *db.Queries) error {
				fig, figErr = q.RunwayFigures(ctx, db.RunwayFiguresParams{UserID: u, SkuID: skuID, Now: time.Now()})
				return nil
			})
			return lock.Reads(), func(tx *store.Store, sku db.Sku) (allocation.Funds, error) {
				if _, err := lock.Balance(tx, sku.Currency); err != nil {
					return allocation.Funds{}, err
				}
				return allocation.Funds{
					RunningBurn: fig.RunningBurn, AtLeast: f.balance,
					Exact: func(context.Context) (int64, error) { return f.balance, nil },
				}, figErr
			}
		},
	}, f.reg)
	f.sim = allocation.NewSim(0, 0)
	f.wk = allocation.NewWorker(f.svc, f.sim)
	return f
}

func (f *fixture) user(t *testing.T) uuid.UUID {
	t.Helper()
	name := "u" + uuid.NewString()[:8]
	u, err := users.New(f.st).Create(ctx, uuid.Nil, users.CreateParams{Username: name, Email: name + "@example.com",
		Password: "correct horse battery staple", Role: "user"})
	must(t, err)
	return u.Id
}

func (f *fixture) create(t *testing.T, user uuid.UUID, sku string) (api.Allocation, error) {
	t.Helper()
	var a api.Allocation
	err := f.st.InTx(ctx, func(tx *store.Store) error {
		var err error
		a, err = f.svc.CreateIn(ctx, tx, user, allocation.CreateRequest{SKUID: sku})
		return err
	})
	return a, err
}

func (f *fixture) status(t *testing.T, id uuid.UUID) allocation.Status {
	t.Helper()
	row, err := f.st.GetAllocation(ctx, db.GetAllocationParams{ID: id})
	must(t, err)
	return allocation.Status(row.Status)
}

func (f *fixture) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	must(t, f.st.Pool().QueryRow(ctx, sql, args...).Scan(&n))
	return n
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if !apperr.HasCode(err, code) {
		t.Fatalf("want %s, got %v", code, err)
	}
}

func TestTransitionTable(t *testing.T) {
	t.Parallel()
	all := []allocation.Status{allocation.StatusRequested, allocation.StatusProvisioning, allocation.StatusActive,
		allocation.StatusReleasing, allocation.StatusReleased, allocation.StatusFailed, allocation.StatusReleaseFailed}
	allowed := map[[2]allocation.Status]bool{
		{"requested", "provisioning"}: true, {"requested", "releasing"}: true, {"requested", "failed"}: true,
		{"provisioning", "active"}: true, {"provisioning", "releasing"}: true, {"provisioning", "failed"}: true,
		{"active", "releasing"}: true, {"active", "failed"}: true,
		{"releasing", "released"}: true, {"releasing", "release_failed"}: true, {"releasing", "failed"}: true,
		{"release_failed", "releasing"}: true, {"release_failed", "released"}: true, {"release_failed", "failed"}: true,
	}
	for _, from := range all {
		for _, to := range all {
			if got := allocation.CanTransition(from, to); got != allowed[[2]allocation.Status{from, to}] {
				t.Errorf("%s → %s: allowed=%v", from, to, got)
			}
		}
	}
}

func TestLifecycleHappyPath(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2)
	u := f.user(t)
	a, err := f.create(t, u, "h100-x1")
	must(t, err)
	if a.Status != api.AllocationStatusRequested || a.NodeId == nil || len(a.Gpus) != 1 || a.PricePerHourMinor != 3600 {
		t.Fatalf("created %+v", a)
	}
	must(t, f.wk.Drive(ctx, a.Id))
	if got := f.status(t, a.Id); got != allocation.StatusActive || !f.sim.Running(a.Id) {
		t.Fatalf("after drive: %s running=%v", got, f.sim.Running(a.Id))
	}
	rel, err := f.svc.Release(ctx, u, a.Id)
	must(t, err)
	if rel.Status != api.AllocationStatusReleasing || rel.DesiredState != "released" || rel.ReleaseReason != "user" {
		t.Fatalf("release: %+v", rel)
	}
	must(t, f.wk.Drive(ctx, a.Id))
	row, err := f.st.GetAllocation(ctx, db.GetAllocationParams{ID: a.Id})
	must(t, err)
	if row.Status != "released" || row.ActiveAt == nil || row.ReleasedAt == nil || f.sim.Running(a.Id) {
		t.Fatalf("after release: %+v", row)
	}
	if n := f.count(t, `SELECT count(*) FROM gpus WHERE allocation_id IS NOT NULL`); n != 0 {
		t.Fatalf("%d GPUs still held", n)
	}
	// Each status change wrote one audit row and one outbox event.
	want := []string{"allocation.requested", "allocation.provisioning", "allocation.active", "allocation.releasing", "allocation.released"}
	rows, err := f.st.Pool().Query(ctx, `SELECT type FROM outbox ORDER BY seq`)
	must(t, err)
	var got []string
	for rows.Next() {
		var typ string
		must(t, rows.Scan(&typ))
		got = append(got, typ)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if n := f.count(t, `SELECT count(*) FROM audit_logs WHERE action = 'allocation.transition' AND target_id = $1`, a.Id.String()); n != 5 {
		t.Fatalf("%d audit rows", n)
	}
	// Released is terminal: a second release is refused, and driving it again does nothing.
	_, err = f.svc.Release(ctx, u, a.Id)
	wantCode(t, err, allocation.CodeInvalidState)
	must(t, f.wk.Drive(ctx, a.Id))
}

func TestOtherUsersAllocationIsNotFound(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	owner, other := f.user(t), f.user(t)
	a, err := f.create(t, owner, "h100-x1")
	must(t, err)
	_, err = f.svc.Get(ctx, other, a.Id)
	wantCode(t, err, apperr.CodeNotFound)
	_, err = f.svc.Release(ctx, other, a.Id)
	wantCode(t, err, apperr.CodeNotFound)
	if f.status(t, a.Id) != allocation.StatusRequested {
		t.Fatal("another user's release changed the allocation")
	}
}

func TestProvisionFailureFreesGPUs(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	f.sim.FailureRate = 1
	u := f.user(t)
	a, err := f.create(t, u, "h100-x1")
	must(t, err)
	must(t, f.wk.Drive(ctx, a.Id))
	row, err := f.st.GetAllocation(ctx, db.GetAllocationParams{ID: a.Id})
	must(t, err)
	if row.Status != "failed" || row.FailureReason == "" || row.ReleasedAt == nil {
		t.Fatalf("failed allocation: %+v", row)
	}
	if n := f.count(t, `SELECT count(*) FROM gpus WHERE allocation_id IS NOT NULL`); n != 0 {
		t.Fatal("failed allocation kept its GPU")
	}
	checkCapacity(t, f)
	_, err = f.svc.Release(ctx, u, a.Id)
	wantCode(t, err, allocation.CodeInvalidState)
}

// TestReleaseIsRetriedUntilTheNodeConfirms: a release whose runtime fails
// (the agent is not connected yet after a restart, say) is not a dead end.
// It stays releasing with its attempt count and error, keeps its GPU, is
// retried after its backoff, turns release_failed only as an alarm past the
// release deadline, and is still retried until the node confirms it.
func TestReleaseIsRetriedUntilTheNodeConfirms(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	u := f.user(t)
	a, err := f.create(t, u, "h100-x1")
	must(t, err)
	must(t, f.wk.Drive(ctx, a.Id))
	_, err = f.svc.Release(ctx, u, a.Id)
	must(t, err)
	f.sim.FailureRate = 1
	must(t, f.wk.Drive(ctx, a.Id))
	row, err := f.st.GetAllocation(ctx, db.GetAllocationParams{ID: a.Id})
	must(t, err)
	if row.Status != "releasing" || row.Attempts != 1 || row.LastError == "" || row.NextAttemptAt == nil {
		t.Fatalf("after a failed attempt: status %s attempts %d error %q next %v", row.Status, row.Attempts, row.LastError, row.NextAttemptAt)
	}
	if n := f.count(t, `SELECT count(*) FROM gpus WHERE allocation_id = $1`, a.Id); n != 1 {
		t.Fatal("an unconfirmed release must keep the GPU: the workload may still run")
	}
	r := allocation.NewReconciler(f.wk, time.Minute)
	due := func() {
		_, err := f.st.Pool().Exec(ctx, `UPDATE allocations SET next_attempt_at = now() - interval '1 second'`)
		must(t, err)
	}
	// Retried after its backoff, many times over: never given up on.
	for i := 0; i < 5; i++ {
		due()
		_, err = r.Once(ctx)
		must(t, err)
	}
	row, err = f.st.GetAllocation(ctx, db.GetAllocationParams{ID: a.Id})
	must(t, err)
	if row.Status != "releasing" || row.Attempts != 6 {
		t.Fatalf("after retries: status %s attempts %d", row.Status, row.Attempts)
	}
	// Past the release deadline it is an alarm, and still retried.
	_, err = f.st.Pool().Exec(ctx, `UPDATE allocations SET release_requested_at = now() - interval '11 minutes'`)
	must(t, err)
	_, err = r.Once(ctx)
	must(t, err)
	row, err = f.st.GetAllocation(ctx, db.GetAllocationParams{ID: a.Id})
	must(t, err)
	if row.Status != "release_failed" || row.FailureReason == "" {
		t.Fatalf("past the deadline: %s %q", row.Status, row.FailureReason)
	}
	f.sim.FailureRate = 0
	due()
	_, err = r.Once(ctx)
	must(t, err)
	if f.status(t, a.Id) != allocation.StatusReleased {
		t.Fatalf("after the node came back: %s", f.status(t, a.Id))
	}
	if n := f.count(t, `SELECT count(*) FROM gpus WHERE allocation_id = $1`, a.Id); n != 0 {
		t.Fatal("a confirmed release frees the GPU")
	}
	// A health report changes capacity too.
	_, err = f.st.Pool().Exec(ctx, `UPDATE gpus SET health = 'unhealthy'`)
	must(t, err)
	checkCapacity(t, f)
}

// TestReleaseWaitsForTheAgentToReport: a release that failed because the
// node's agent was away goes as soon as the agent reports in, without
// waiting for its backoff.
func TestReleaseWaitsForTheAgentToReport(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	u := f.user(t)
	a, err := f.create(t, u, "h100-x1")
	must(t, err)
	must(t, f.wk.Drive(ctx, a.Id))
	_, err = f.svc.Release(ctx, u, a.Id)
	must(t, err)
	f.sim.FailureRate = 1
	must(t, f.wk.Drive(ctx, a.Id))
	f.sim.FailureRate = 0
	must(t, f.wk.ReconcileNode(ctx, *a.NodeId, []uuid.UUID{a.Id}))
	// The release runs beside the reconcile: poll for it.
	for deadline := time.Now().Add(10 * time.Second); f.status(t, a.Id) != allocation.StatusReleased; {
		if time.Now().After(deadline) {
			t.Fatalf("after the agent reported: %s", f.status(t, a.Id))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestForceReleaseFromAnyNonTerminalStatus(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 4)
	u, admin := f.user(t), f.user(t)
	requested, err := f.create(t, u, "h100-x1")
	must(t, err)
	a, err := f.svc.ForceRelease(ctx, admin, requested.Id, "admin: maintenance")
	must(t, err)
	if a.Status != api.AllocationStatusReleasing || a.ReleaseReason != "admin: maintenance" {
		t.Fatalf("force release of requested: %+v", a)
	}
	// Forcing one already releasing is accepted and changes nothing.
	if _, err := f.svc.ForceRelease(ctx, admin, requested.Id, "again"); err != nil {
		t.Fatal(err)
	}
	must(t, f.wk.Drive(ctx, requested.Id))
	if f.status(t, requested.Id) != allocation.StatusReleased {
		t.Fatal("not released")
	}
	_, err = f.svc.ForceRelease(ctx, admin, requested.Id, "done already")
	wantCode(t, err, allocation.CodeInvalidState)
	_, err = f.svc.ForceRelease(ctx, admin, requested.Id, " ")
	wantCode(t, err, apperr.CodeInvalidRequest)
	_, err = f.svc.ForceRelease(ctx, admin, uuid.New(), "nope")
	wantCode(t, err, apperr.CodeNotFound)
}

// TestReleaseRacingATransitionStillReleases: a force release asked while
// the provisioner's transition is in flight is judged on the status that
// transition commits, and succeeds, instead of answering 409 to a request
// that is still valid (the fault suite's final release once left an
// allocation active that way).
func TestReleaseRacingATransitionStillReleases(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 4)
	u, admin := f.user(t), f.user(t)
	a, err := f.create(t, u, "h100-x1")
	must(t, err)
	// The provisioner's step, held open: it has the row, not yet committed.
	pool := f.st.Pool()
	provisioner, err := pool.Begin(ctx)
	must(t, err)
	defer provisioner.Rollback(ctx)
	_, err = provisioner.Exec(ctx, `UPDATE allocations SET status = 'provisioning', status_changed_at = now() WHERE id = $1`, a.Id)
	must(t, err)
	done := make(chan error, 1)
	var got api.Allocation
	go func() {
		var err error
		got, err = f.svc.ForceRelease(ctx, admin, a.Id, "admin: maintenance")
		done <- err
	}()
	// The release waits on the provisioner's row.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		must(t, pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting))
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the release never waited on the provisioner's row lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	must(t, provisioner.Commit(ctx))
	if err := <-done; err != nil {
		t.Fatalf("force release across a concurrent transition: %v", err)
	}
	if got.Status != api.AllocationStatusReleasing || got.ReleaseReason != "admin: maintenance" {
		t.Fatalf("after the race: %+v", got)
	}
	must(t, f.wk.Drive(ctx, a.Id))
	if st := f.status(t, a.Id); st != allocation.StatusReleased {
		t.Fatalf("status %s, want released", st)
	}
}

func TestCreateNeedsCapacityAndRunway(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	u := f.user(t)
	_, err := f.create(t, u, "h100-x2")
	wantCode(t, err, allocation.CodeInsufficientCapacity)
	_, err = f.create(t, u, "no-such-sku")
	wantCode(t, err, apperr.CodeNotFound)
	// 10 minutes at 3600/h is 600 minor units.
	f.balance = 599
	_, err = f.create(t, u, "h100-x1")
	wantCode(t, err, allocation.CodeInsufficientFunds)
	if e, _ := apperr.As(err); e.Kind != apperr.KindPaymentRequired {
		t.Fatalf("kind %v", e.Kind)
	}
	f.balance = 600
	_, err = f.create(t, u, "h100-x1")
	must(t, err)
}

// TestRunwayCountsWhatAlreadyRuns: credit for 10 minutes of one GPU starts
// one GPU, not four; the refusal names the figures in money and in details.
func TestRunwayCountsWhatAlreadyRuns(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 4)
	u := f.user(t)
	f.balance = 600 // 10 minutes at 3600/h
	_, err := f.create(t, u, "h100-x1")
	must(t, err)
	_, err = f.create(t, u, "h100-x1")
	wantCode(t, err, allocation.CodeInsufficientFunds)
	e, _ := apperr.As(err)
	if !strings.Contains(e.Message, "USD 12.00") || !strings.Contains(e.Message, "USD 6.00") || strings.Contains(e.Message, "1200") {
		t.Fatalf("message %q", e.Message)
	}
	if e.Details["required_minor"] != int64(1200) || e.Details["balance_minor"] != int64(600) || e.Details["currency"] != "USD" {
		t.Fatalf("details %v", e.Details)
	}
	// Racing creates are judged one after another against the same credit.
	f.balance = 1800 // 30 minutes of one GPU: three at most, counting the first
	var wg sync.WaitGroup
	var ok, refused atomic.Int32
	for i := 0; i < 3; i++ {
		wg.Go(func() {
			_, err := f.create(t, u, "h100-x1")
			switch {
			case err == nil:
				ok.Add(1)
			case apperr.HasCode(err, allocation.CodeInsufficientFunds):
				refused.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 2 || refused.Load() != 1 {
		t.Fatalf("racing creates: %d accepted, %d refused; want 2 and 1", ok.Load(), refused.Load())
	}
}

func TestReconcilerRetriesThenFails(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2)
	u := f.user(t)
	a, err := f.create(t, u, "h100-x1")
	must(t, err)
	// The requested event was lost: nothing drove it. Make it look old.
	age := func() {
		_, err := f.st.Pool().Exec(ctx, `UPDATE allocations SET status_changed_at = now() - interval '1 hour'`)
		must(t, err)
	}
	age()
	r := allocation.NewReconciler(f.wk, time.Minute)
	n, err := r.Once(ctx)
	must(t, err)
	if n != 1 || f.status(t, a.Id) != allocation.StatusActive {
		t.Fatalf("reconciled %d, status %s", n, f.status(t, a.Id))
	}
	// A release whose attempt was lost (a crash mid-release) is retried
	// after the deadline, however many attempts it took.
	_, err = f.svc.Release(ctx, u, a.Id)
	must(t, err)
	_, err = f.st.Pool().Exec(ctx, `UPDATE allocations SET attempts = 3`)
	must(t, err)
	age()
	_, err = r.Once(ctx)
	must(t, err)
	if f.status(t, a.Id) != allocation.StatusReleased {
		t.Fatalf("lost release: %s", f.status(t, a.Id))
	}
	// A provision stuck past its attempts fails.
	b, err := f.create(t, u, "h100-x1")
	must(t, err)
	_, err = f.st.Pool().Exec(ctx, `UPDATE allocations SET attempts = 3 WHERE id = $1`, b.Id)
	must(t, err)
	age()
	_, err = r.Once(ctx)
	must(t, err)
	row, err := f.st.GetAllocation(ctx, db.GetAllocationParams{ID: b.Id})
	must(t, err)
	if row.Status != "failed" || row.FailureReason == "" {
		t.Fatalf("after giving up: %s %q", row.Status, row.FailureReason)
	}
}

func TestListPagesAndFilters(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 4)
	u, other := f.user(t), f.user(t)
	for i := 0; i < 3; i++ {
		_, err := f.create(t, u, "h100-x1")
		must(t, err)
	}
	_, err := f.create(t, other, "h100-x1")
	must(t, err)
	page, next, err := f.svc.List(ctx, allocation.Filter{UserID: u}, nil, 2)
	must(t, err)
	if len(page) != 2 || next == nil {
		t.Fatalf("page 1: %d %v", len(page), next)
	}
	page2, next2, err := f.svc.List(ctx, allocation.Filter{UserID: u}, next, 2)
	must(t, err)
	if len(page2) != 1 || next2 != nil || page2[0].Id == page[0].Id || page2[0].Id == page[1].Id {
		t.Fatalf("page 2: %+v", page2)
	}
	all, _, err := f.svc.List(ctx, allocation.Filter{}, nil, 50)
	must(t, err)
	if len(all) != 4 {
		t.Fatalf("admin sees %d", len(all))
	}
	none, _, err := f.svc.List(ctx, allocation.Filter{UserID: u, Status: "active"}, nil, 50)
	must(t, err)
	if len(none) != 0 {
		t.Fatal("status filter ignored")
	}
	_, _, err = f.svc.List(ctx, allocation.Filter{Status: "bogus"}, nil, 50)
	wantCode(t, err, apperr.CodeInvalidRequest)
}

// recordingRuntime records what it was asked to do.
type recordingRuntime struct {
	mu    sync.Mutex
	calls []string
}

func (r *recordingRuntime) Provision(_ context.Context, w allocation.Workload) error {
	return r.add("provision", w)
}
func (r *recordingRuntime) Release(_ context.Context, w allocation.Workload) error {
	return r.add("release", w)
}
func (r *recordingRuntime) add(kind string, w allocation.Workload) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, kind+" "+w.AllocationID.String())
	return nil
}

func TestReconcileNode(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2)
	u := f.user(t)
	active, err := f.create(t, u, "h100-x1")
	must(t, err)
	must(t, f.wk.Drive(ctx, active.Id))
	gone, err := f.create(t, u, "h100-x1")
	must(t, err)
	must(t, f.wk.Drive(ctx, gone.Id))
	_, err = f.svc.Release(ctx, u, gone.Id)
	must(t, err)
	must(t, f.wk.Drive(ctx, gone.Id))

	rec := &recordingRuntime{}
	wk := allocation.NewWorker(f.svc, rec)
	stranger := uuid.New()
	// The agent reports the released allocation and a stranger, not the active one.
	must(t, wk.ReconcileNode(ctx, *active.NodeId, []uuid.UUID{gone.Id, stranger}))
	want := []string{"release " + gone.Id.String(), "release " + stranger.String(), "provision " + active.Id.String()}
	if fmt.Sprint(rec.calls) != fmt.Sprint(want) {
		t.Fatalf("calls %v, want %v", rec.calls, want)
	}
	// A report that matches changes nothing.
	rec.calls = nil
	must(t, wk.ReconcileNode(ctx, *active.NodeId, []uuid.UUID{active.Id}))
	if len(rec.calls) != 0 {
		t.Fatalf("calls %v", rec.calls)
	}
}

// TestNodeLostAfterGrace: what a node holds when it stays offline past the
// grace (of control-plane time) ends as failed with reason node_lost and
// its GPUs are freed; before the grace nothing changes.
func TestNodeLostAfterGrace(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 3)
	u := f.user(t)
	active, err := f.create(t, u, "h100-x1")
	must(t, err)
	must(t, f.wk.Drive(ctx, active.Id))
	releasing, err := f.create(t, u, "h100-x2")
	must(t, err)
	must(t, f.wk.Drive(ctx, releasing.Id))
	_, err = f.svc.Release(ctx, u, releasing.Id)
	must(t, err)
	_, err = f.st.Pool().Exec(ctx, `UPDATE nodes SET status = 'offline', offline_since = now(), offline_grace_micros = $1`,
		(9 * time.Minute).Microseconds())
	must(t, err)
	r := allocation.NewReconciler(f.wk, time.Minute)
	_, err = r.Once(ctx)
	must(t, err)
	if f.status(t, active.Id) != allocation.StatusActive {
		t.Fatalf("within the grace: %s", f.status(t, active.Id))
	}
	_, err = f.st.Pool().Exec(ctx, `UPDATE nodes SET offline_grace_micros = $1`, (10 * time.Minute).Microseconds())
	must(t, err)
	_, err = r.Once(ctx)
	must(t, err)
	for _, id := range []uuid.UUID{active.Id, releasing.Id} {
		row, err := f.st.GetAllocation(ctx, db.GetAllocationParams{ID: id})
		must(t, err)
		if row.Status != "failed" || row.FailureReason != allocation.ReasonNodeLost {
			t.Fatalf("past the grace: %s %q", row.Status, row.FailureReason)
		}
	}
	if n := f.count(t, `SELECT count(*) FROM gpus WHERE allocation_id IS NOT NULL`); n != 0 {
		t.Fatalf("%d GPUs still held", n)
	}
}

// awayRuntime answers ErrNodeUnreachable while away is set.
type awayRuntime struct {
	*allocation.Sim
	away atomic.Bool
}

func (r *awayRuntime) Provision(ctx context.Context, w allocation.Workload) error {
	if r.away.Load() {
		return fmt.Errorf("route task: %w", allocation.ErrNodeUnreachable)
	}
	return r.Sim.Provision(ctx, w)
}

// TestProvisionWaitsForAnAgentThatIsAway: a provision that meets a node
// whose agent is reconnecting is retried, not failed at once; it fails
// only after the reconciler's attempts.
func TestProvisionWaitsForAnAgentThatIsAway(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 2)
	u := f.user(t)
	rt := &awayRuntime{Sim: allocation.NewSim(0, 0)}
	rt.away.Store(true)
	wk := allocation.NewWorker(f.svc, rt)
	a, err := f.create(t, u, "h100-x1")
	must(t, err)
	must(t, wk.Drive(ctx, a.Id))
	row, err := f.st.GetAllocation(ctx, db.GetAllocationParams{ID: a.Id})
	must(t, err)
	if row.Status != "provisioning" || row.LastError == "" {
		t.Fatalf("agent away: %s %q", row.Status, row.LastError)
	}
	rt.away.Store(false)
	_, err = f.st.Pool().Exec(ctx, `UPDATE allocations SET status_changed_at = now() - interval '1 hour'`)
	must(t, err)
	_, err = allocation.NewReconciler(wk, time.Minute).Once(ctx)
	must(t, err)
	if f.status(t, a.Id) != allocation.StatusActive {
		t.Fatalf("agent back: %s", f.status(t, a.Id))
	}
}

// TestWaitingProvisionGoesWhenTheAgentReportsIn: a provision that met an
// agent still connecting (a create right after a restart) goes as soon as
// that agent reports in, not at the reconciler's deadline.
func TestWaitingProvisionGoesWhenTheAgentReportsIn(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	u := f.user(t)
	rt := &awayRuntime{Sim: allocation.NewSim(0, 0)}
	rt.away.Store(true)
	wk := allocation.NewWorker(f.svc, rt)
	a, err := f.create(t, u, "h100-x1")
	must(t, err)
	must(t, wk.Drive(ctx, a.Id))
	if st := f.status(t, a.Id); st != allocation.StatusProvisioning {
		t.Fatalf("agent away: %s", st)
	}
	rt.away.Store(false)
	must(t, wk.ReconcileNode(ctx, *a.NodeId, nil))
	deadline := time.Now().Add(5 * time.Second)
	for f.status(t, a.Id) != allocation.StatusActive {
		if time.Now().After(deadline) {
			t.Fatalf("agent reported in: still %s", f.status(t, a.Id))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestStatusesAreTheContracts: the lifecycle's statuses are exactly the
// contract's enum, and every one appears in the transition table.
func TestStatusesAreTheContracts(t *testing.T) {
	t.Parallel()
	seen := map[allocation.Status]bool{}
	for _, s := range allocation.Statuses {
		if !api.AllocationStatus(s).Valid() {
			t.Errorf("%s is not in api/openapi.yaml", s)
		}
		seen[s] = true
		reachable := s == allocation.StatusRequested
		for _, from := range allocation.Statuses {
			reachable = reachable || allocation.CanTransition(from, s)
		}
		if !reachable {
			t.Errorf("%s: no transition leads to it", s)
		}
	}
	if len(seen) != 7 {
		t.Fatalf("%d statuses; api/openapi.yaml's AllocationStatus has 7: update allocation.Statuses", len(seen))
	}
}

// pendingRuntime answers ErrPending to the first provisions, as an agent
// whose image is still pulling does, and checks each time that the
// allocation is still provisioning, unbilled, with the progress shown.
type pendingRuntime struct {
	t       *testing.T
	f       *fixture
	pending int64
	calls   atomic.Int64
}

func (p *pendingRuntime) Provision(ctx context.Context, w allocation.Workload) error {
	calls := p.calls.Add(1)
	if calls > 1 {
		row, err := p.f.st.GetAllocation(ctx, db.GetAllocationParams{ID: w.AllocationID})
		must(p.t, err)
		if row.Status != string(allocation.StatusProvisioning) || row.ActiveAt != nil || !strings.Contains(row.LastError, "pulling image x: 1 of 2 MB") || row.Attempts != 0 {
			p.t.Errorf("while pending: status %s active_at %v last_error %q attempts %d", row.Status, row.ActiveAt, row.LastError, row.Attempts)
		}
	}
	if calls <= p.pending {
		return fmt.Errorf("%w: pulling image x: 1 of 2 MB", allocation.ErrPending)
	}
	return nil
}

func (p *pendingRuntime) Release(context.Context, allocation.Workload) error { return nil }

// TestProvisionPendingIsNotAFailure: a provision the node answers "still
// pulling" stays provisioning (unbilled, progress in last_error, attempts
// not spent) and is asked again in the background, without holding the
// caller, until the node is done; past PendingWait the allocation waits
// for the reconciler.
func TestProvisionPendingIsNotAFailure(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1, 1)
	u := f.user(t)
	rt := &pendingRuntime{t: t, f: f, pending: 3}
	wk := allocation.NewWorker(f.svc, rt)
	wk.PendingPoll = 10 * time.Millisecond
	a, err := f.create(t, u, "h100-x1")
	must(t, err)
	must(t, wk.Drive(ctx, a.Id))
	if n := rt.calls.Load(); n != 1 {
		t.Fatalf("Drive waited for the pull: %d calls before it returned", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for f.status(t, a.Id) != allocation.StatusActive {
		if time.Now().After(deadline) {
			t.Fatalf("after %d calls the allocation is %s, want active", rt.calls.Load(), f.status(t, a.Id))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := rt.calls.Load(); n != 4 {
		t.Fatalf("active after %d calls, want 4", n)
	}

	slow := &pendingRuntime{t: t, f: f, pending: 1 << 30}
	wk = allocation.NewWorker(f.svc, slow)
	wk.PendingPoll, wk.PendingWait = 10*time.Millisecond, 50*time.Millisecond
	b, err := f.create(t, u, "h100-x1")
	must(t, err)
	must(t, wk.Drive(ctx, b.Id))
	time.Sleep(200 * time.Millisecond) // past PendingWait: the asking stops
	calls := slow.calls.Load()
	time.Sleep(100 * time.Millisecond)
	if f.status(t, b.Id) != allocation.StatusProvisioning || calls < 2 || slow.calls.Load() != calls {
		t.Fatalf("past PendingWait: %s after %d calls (then %d), want provisioning and no more asking", f.status(t, b.Id), calls, slow.calls.Load())
	}
}
