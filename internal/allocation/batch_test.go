package allocation_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/internal/allocation"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/store"
)

// driveAll drives every allocation at once, as the provisioner's handlers
// do, and returns each Drive's error.
func driveAll(wk *allocation.Worker, ids []uuid.UUID) map[uuid.UUID]error {
	var mu sync.Mutex
	errs := map[uuid.UUID]error{}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			err := wk.Drive(ctx, id)
			mu.Lock()
			errs[id] = err
			mu.Unlock()
		})
	}
	wg.Wait()
	return errs
}

// requestedAllocations is a fixture with n allocations requested by one
// user.
func requestedAllocations(t *testing.T, n int) (*fixture, []uuid.UUID) {
	t.Helper()
	f := newFixture(t, 8, 8, 8, 8)
	u := f.user(t)
	var ids []uuid.UUID
	for range n {
		a, err := f.create(t, u, "h100-x1")
		must(t, err)
		ids = append(ids, a.Id)
	}
	return f, ids
}

// stepBatches is the step batch histogram's sample count and sum.
func stepBatches(t *testing.T, reg *prometheus.Registry) (count uint64, sum float64) {
	t.Helper()
	mfs, err := reg.Gather()
	must(t, err)
	for _, mf := range mfs {
		if mf.GetName() == "gpuaas_allocation_step_batch_size" {
			h := mf.GetMetric()[0].GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum()
		}
	}
	t.Fatal("no step batch histogram")
	return 0, 0
}

// TestProvisionStepsShareCommits: provisioning steps that arrive together
// commit together, and each still gets its own answer: the ones whose
// allocation was released first lose their step as before, and the rest
// go active with their own audit row and event.
func TestProvisionStepsShareCommits(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 8, 8, 8, 8, 8, 8)
	u := f.user(t)
	var ids []uuid.UUID
	released := map[uuid.UUID]bool{}
	for i := range 40 {
		a, err := f.create(t, u, "h100-x1")
		must(t, err)
		ids = append(ids, a.Id)
		if i%10 == 3 {
			_, err := f.svc.Release(ctx, u, a.Id)
			must(t, err)
			released[a.Id] = true
		}
	}
	for id, err := range driveAll(f.wk, ids) {
		if err != nil {
			t.Errorf("drive %s: %v", id, err)
		}
	}
	for _, id := range ids {
		want := allocation.StatusActive
		if released[id] {
			want = allocation.StatusReleased
		}
		if got := f.status(t, id); got != want {
			t.Errorf("%s is %s, want %s", id, got, want)
		}
	}
	count, sum := stepBatches(t, f.reg)
	if want := float64(2 * (len(ids) - len(released))); sum != want || count >= uint64(sum) {
		t.Fatalf("%v provisioning steps in %d commits, want %v steps in fewer commits", sum, count, want)
	}
	var audited, evented int
	must(t, f.st.Pool().QueryRow(ctx, `SELECT
		(SELECT count(*) FROM audit_logs WHERE action = $2 AND metadata->>'status_to' = 'active'),
		(SELECT count(*) FROM outbox WHERE type = $1)`, events.AllocationActive, audit.ActionAllocationTransition).Scan(&audited, &evented))
	if n := len(ids) - len(released); audited != n || evented != n {
		t.Fatalf("%d audit rows and %d events of activation, want %d of each", audited, evented, n)
	}
}

// TestStepBatchThatFailsRunsEachStepAlone: a step that fails inside a
// shared transaction rolls the batch back; every other step of it is then
// committed in its own transaction, and only the failing one is left to
// retry.
func TestStepBatchThatFailsRunsEachStepAlone(t *testing.T) {
	t.Parallel()
	f, ids := requestedAllocations(t, 24)
	bad := ids[7]
	reg := prometheus.NewRegistry()
	svc := allocation.New(f.st, allocation.Config{
		Naming: events.Naming{Namespace: "test"},
		OpenUsage: func(ctx context.Context, tx *store.Store, id uuid.UUID, at time.Time) error {
			if id == bad {
				return errors.New("usage window refused")
			}
			return nil
		},
	}, reg)
	errs := driveAll(allocation.NewWorker(svc, f.sim), ids)
	for _, id := range ids {
		switch got := f.status(t, id); {
		case id == bad && (errs[id] == nil || got != allocation.StatusProvisioning):
			t.Errorf("the failing step: %s, %v; want provisioning and its error", got, errs[id])
		case id != bad && (errs[id] != nil || got != allocation.StatusActive):
			t.Errorf("%s: %s, %v; want active", id, got, errs[id])
		}
	}
}

// TestStepBatchDoesNotWaitOnAHeldRow: a batch that meets an allocation
// row another transaction holds (a release in progress, a suspension)
// gives up within its short lock wait and runs its steps alone, so the
// other steps do not wait for that transaction, and the held one goes on
// once it is free.
func TestStepBatchDoesNotWaitOnAHeldRow(t *testing.T) {
	t.Parallel()
	f, ids := requestedAllocations(t, 24)
	held := ids[5]
	holder, err := f.st.Pool().Begin(ctx)
	must(t, err)
	defer holder.Rollback(ctx)
	_, err = holder.Exec(ctx, `SELECT 1 FROM allocations WHERE id = $1 FOR UPDATE`, held)
	must(t, err)
	done := make(chan map[uuid.UUID]error, 1)
	go func() { done <- driveAll(f.wk, ids) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var active int
		must(t, f.st.Pool().QueryRow(ctx, `SELECT count(*) FROM allocations WHERE status = 'active'`).Scan(&active))
		if active == len(ids)-1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d active while one row is held: the others waited for it", active, len(ids)-1)
		}
		time.Sleep(10 * time.Millisecond)
	}
	must(t, holder.Rollback(ctx))
	for id, err := range <-done {
		if err != nil {
			t.Errorf("drive %s: %v", id, err)
		}
	}
	if got := f.status(t, held); got != allocation.StatusActive {
		t.Fatalf("the held allocation is %s once free, want active", got)
	}
}
