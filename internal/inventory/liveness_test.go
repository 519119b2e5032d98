package inventory_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/inventory"
	"github.com/gpuaas/gpuaas/internal/store/dbtest"
)

// TestStaleHeartbeatDoesNotBringAnOfflineNodeBack: a heartbeat heard
// before the node was marked offline (a stamp still waiting for the
// flusher when a probe found the agent gone, or a write that lost the race
// to the mark) leaves it offline; only one heard after the mark brings it
// back. A stale one once put a node whose agent had just gone back online
// until the sweeper's deadline (TestReconnectReconcilesAndProbeAnswers).
func TestStaleHeartbeatDoesNotBringAnOfflineNodeBack(t *testing.T) {
	ctx := context.Background()
	st := dbtest.New(t)
	inv := inventory.New(st)
	if err := inv.SeedRegion(ctx, inventory.Region{ID: "r1", Name: "R1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := inv.SeedNode(ctx, "n1", "r1", nil); err != nil {
		t.Fatal(err)
	}
	var id uuid.UUID
	if err := st.Pool().QueryRow(ctx, `SELECT id FROM nodes WHERE hostname = 'n1'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	status := func() string {
		t.Helper()
		var s string
		if err := st.Pool().QueryRow(ctx, `SELECT status FROM nodes WHERE id = $1`, id).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	live := inventory.NewLiveness(st, events.Naming{Namespace: "test"}, nil, nil)
	if _, err := live.Record(ctx, id, time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	live.Stamp(id, time.Now()) // heard, waiting for the flusher
	time.Sleep(10 * time.Millisecond)
	stale := time.Now()
	if err := live.MarkOffline(ctx, id, "no answer to probe"); err != nil || status() != "offline" {
		t.Fatalf("mark offline: %v, %s", err, status())
	}
	if back, err := live.Flush(ctx); err != nil || len(back) != 0 || status() != "offline" {
		t.Fatalf("a stamp from before the mark: back %v, %v, node %s; want it left offline", back, err, status())
	}
	if back, err := live.Record(ctx, id, stale, nil); err != nil || back || status() != "offline" {
		t.Fatalf("a report from before the mark: back %v, %v, node %s; want it left offline", back, err, status())
	}
	live.Stamp(id, time.Now().Add(time.Second))
	if back, err := live.Flush(ctx); err != nil || len(back) != 1 || status() != "online" {
		t.Fatalf("a stamp from after the mark: back %v, %v, node %s; want it online", back, err, status())
	}
}
