package billing_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/billing"
	"github.com/gpuaas/gpuaas/internal/events"
)

// node inserts an online node and puts alloc on it.
func (e *env) onNode(alloc uuid.UUID) uuid.UUID {
	e.t.Helper()
	var id uuid.UUID
	err := e.st.Pool().QueryRow(context.Background(),
		`INSERT INTO nodes (hostname, region, status) VALUES ('n' || substr(md5(random()::text), 1, 10), 'r1', 'online') RETURNING id`).Scan(&id)
	if err != nil {
		e.t.Fatal(err)
	}
	e.exec(`UPDATE allocations SET node_id = $2 WHERE id = $1`, alloc, id)
	return id
}

func (e *env) meter(at time.Time) {
	e.t.Helper()
	if err := e.b.MeterOnce(context.Background(), at); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) wantDebited(alloc uuid.UUID, want int64) {
	e.t.Helper()
	if got, _ := e.debited(alloc); got != want {
		e.t.Fatalf("debited %d, want %d", got, want)
	}
}

// TestWindowEndsAtTheReleaseRequest: the release transaction closes the
// window at the request; a node that takes minutes to confirm (or a
// release retried across restarts) adds nothing, and neither does the
// released event whenever it lands.
func TestWindowEndsAtTheReleaseRequest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	u := e.user()
	e.credit(u, 1_000_000)
	a := e.allocation(u, 3600, t0) // 1 minor unit a second
	e.handle(event(events.AllocationActive, a, u, t0))
	e.meter(t0.Add(60 * time.Second))
	requested := t0.Add(100 * time.Second)
	e.exec(`UPDATE allocations SET status = 'releasing', release_requested_at = $2 WHERE id = $1`, a, requested)
	if err := e.b.CloseUsageIn(ctx, e.st, a, requested); err != nil {
		t.Fatal(err)
	}
	e.meter(t0.Add(400 * time.Second))
	e.handle(event(events.AllocationReleased, a, u, t0.Add(900*time.Second)))
	e.wantDebited(a, 100)
	if r := e.usage(a); r.ended == nil || !r.ended.Equal(requested) || r.secs != 100 {
		t.Fatalf("window %+v", r)
	}
	e.checkLedger()
}

// TestReleasedEventIsCappedAtTheRequest: with no close in the release
// transaction (a row from before it), the released event still ends the
// window at the request, not at the node's confirmation.
func TestReleasedEventIsCappedAtTheRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user()
	e.credit(u, 1_000_000)
	a := e.allocation(u, 3600, t0)
	e.handle(event(events.AllocationActive, a, u, t0))
	e.exec(`UPDATE allocations SET status = 'released', release_requested_at = $2 WHERE id = $1`, a, t0.Add(42*time.Second))
	e.handle(event(events.AllocationReleased, a, u, t0.Add(600*time.Second)))
	e.wantDebited(a, 42)
	e.checkLedger()
}

// TestOfflineNodePausesBilling: billing stops at the last heartbeat that
// saw the node, the gap is not charged when the node comes back with the
// workload alive, and a release asked meanwhile is charged to the pause.
func TestOfflineNodePausesBilling(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	u := e.user()
	e.credit(u, 1_000_000)
	a := e.allocation(u, 3600, t0)
	other := e.allocation(u, 3600, t0) // same node, not reported back
	node := e.onNode(a)
	e.exec(`UPDATE allocations SET node_id = $2 WHERE id = $1`, other, node)
	e.handle(event(events.AllocationActive, a, u, t0))
	e.handle(event(events.AllocationActive, other, u, t0))
	// Last heartbeat at +60 s; the sweep notices at +90 s.
	if err := e.b.PauseNode(ctx, e.st, node, t0.Add(60*time.Second)); err != nil {
		t.Fatal(err)
	}
	e.meter(t0.Add(200 * time.Second))
	e.wantDebited(a, 60)
	// The balance view burns nothing for paused windows.
	e.clock.set(t0.Add(250 * time.Second))
	bal, err := e.b.Balance(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if bal.BurnRatePerHourMinor != 0 || bal.UnbilledMinor != 0 {
		t.Fatalf("paused windows burn: %+v", bal)
	}
	// Back at +500 s with only a running.
	if err := e.b.ResumeNode(ctx, node, []uuid.UUID{a}, t0.Add(500*time.Second)); err != nil {
		t.Fatal(err)
	}
	e.meter(t0.Add(600 * time.Second))
	e.wantDebited(a, 160)
	e.wantDebited(other, 60)
	// a's release at +700 s; other ends as lost at +1200 s, charged to +60 s.
	e.exec(`UPDATE allocations SET status = 'releasing', release_requested_at = $2 WHERE id = $1`, a, t0.Add(700*time.Second))
	if err := e.b.CloseUsageIn(ctx, e.st, a, t0.Add(700*time.Second)); err != nil {
		t.Fatal(err)
	}
	e.handle(event(events.AllocationFailed, other, u, t0.Add(1200*time.Second)))
	e.wantDebited(a, 260)
	e.wantDebited(other, 60)
	if r := e.usage(other); r.ended == nil || !r.ended.Equal(t0.Add(60*time.Second)) {
		t.Fatalf("lost window ended %v, want at the last heartbeat", r.ended)
	}
	// A second pause and a release asked while paused: charged to the pause.
	b := e.allocation(u, 3600, t0.Add(1000*time.Second))
	e.exec(`UPDATE allocations SET node_id = $2 WHERE id = $1`, b, node)
	e.handle(event(events.AllocationActive, b, u, t0.Add(1000*time.Second)))
	if err := e.b.PauseNode(ctx, e.st, node, t0.Add(1030*time.Second)); err != nil {
		t.Fatal(err)
	}
	e.exec(`UPDATE allocations SET status = 'releasing', release_requested_at = $2 WHERE id = $1`, b, t0.Add(1100*time.Second))
	if err := e.b.CloseUsageIn(ctx, e.st, b, t0.Add(1100*time.Second)); err != nil {
		t.Fatal(err)
	}
	e.wantDebited(b, billing.Charge(30, 3600))
	e.checkLedger()
}

// TestNodeFoundSilentAfterTheRelease: a release asked while the node's
// replica was down closes the window at the request; when the sweep then
// finds the node's last heartbeat earlier than that, the window is cut
// back to the heartbeat and the rest refunded, once.
func TestNodeFoundSilentAfterTheRelease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	u := e.user()
	e.credit(u, 1_000_000)
	a := e.allocation(u, 3600, t0)
	node := e.onNode(a)
	e.handle(event(events.AllocationActive, a, u, t0))
	e.meter(t0.Add(60 * time.Second))
	e.exec(`UPDATE allocations SET status = 'releasing', release_requested_at = $2 WHERE id = $1`, a, t0.Add(100*time.Second))
	if err := e.b.CloseUsageIn(ctx, e.st, a, t0.Add(100*time.Second)); err != nil {
		t.Fatal(err)
	}
	e.wantDebited(a, 100)
	for range 2 { // a second sweep's pause changes nothing more
		if err := e.b.PauseNode(ctx, e.st, node, t0.Add(80*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	e.wantDebited(a, 80)
	if r := e.usage(a); r.ended == nil || !r.ended.Equal(t0.Add(80*time.Second)) || r.secs != 80 {
		t.Fatalf("window %+v", r)
	}
	e.checkLedger()
}
