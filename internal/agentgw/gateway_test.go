package agentgw_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agentgw"
	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/inventory"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/dbtest"
)

const h100 = "NVIDIA H100 80GB HBM3"

// testGateway is a gateway on st with a 1 s heartbeat and no NATS.
func testGateway(st *store.Store) *agentgw.Gateway {
	return agentgw.New(st, nil, agentgw.Config{HeartbeatInterval: time.Second, Namespace: "test"}, nil)
}

// held seeds a node with two GPUs, the first held by an active allocation.
func held(t *testing.T, st *store.Store) (node, alloc, owner uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	inv := inventory.New(st)
	must(t, inv.SeedRegion(ctx, inventory.Region{ID: "r1", Name: "R1"}))
	must(t, inv.SeedSKU(ctx, api.SKU{Id: "x1", Name: "H100", GpuModel: h100, GpuCount: 1, PricePerHourMinor: 100,
		Currency: "USD", Region: "r1", Active: true}))
	_, err := inv.SeedNode(ctx, "gpu-1", "r1", []inventory.GPUSpec{
		{Index: 0, UUID: "GPU-a", Model: h100, MemoryMiB: 81559}, {Index: 1, UUID: "GPU-b", Model: h100, MemoryMiB: 81559}})
	must(t, err)
	q := st.Pool().QueryRow
	must(t, q(ctx, `SELECT id FROM nodes WHERE hostname = 'gpu-1'`).Scan(&node))
	must(t, q(ctx, `INSERT INTO users (username, email, role, password_hash) VALUES ('owner', 'o@example.com', 'user', 'x') RETURNING id`).Scan(&owner))
	must(t, q(ctx, `INSERT INTO allocations (user_id, sku_id, node_id, status, gpu_count, price_per_hour_minor, currency)
		VALUES ($1, 'x1', $2, 'active', 1, 100, 'USD') RETURNING id`, owner, node).Scan(&alloc))
	_, err = st.Pool().Exec(ctx, `UPDATE gpus SET allocation_id = $1 WHERE uuid = 'GPU-a'`, alloc)
	must(t, err)
	return node, alloc, owner
}

func report(health0, health1 string, reasons ...string) agentproto.Heartbeat {
	return agentproto.Heartbeat{GPUs: []agentproto.GPU{
		{Index: 0, UUID: "GPU-a", Model: h100, MemoryMiB: 81559, Health: health0, HealthReasons: reasons},
		{Index: 1, UUID: "GPU-b", Model: h100, MemoryMiB: 81559, Health: health1},
	}}
}

// TestUnhealthyGPUUnderAnAllocation: a held GPU that turns unhealthy is
// reported to its owner at once (gpu.unhealthy, in the heartbeat's
// transaction) and its node leaves placement, audited; a free GPU turning
// unhealthy only leaves placement itself.
func TestUnhealthyGPUUnderAnAllocation(t *testing.T) {
	ctx := context.Background()
	st := dbtest.New(t)
	node, alloc, owner := held(t, st)
	g := testGateway(st)
	count := func(sql string, args ...any) int {
		t.Helper()
		var n int
		must(t, st.Pool().QueryRow(ctx, sql, args...).Scan(&n))
		return n
	}
	must(t, g.Heartbeat(ctx, node, report("healthy", "healthy"), time.Now()))
	must(t, g.Heartbeat(ctx, node, report("healthy", "unhealthy"), time.Now()))
	if n := count(`SELECT count(*) FROM outbox WHERE type = 'gpu.unhealthy'`); n != 0 {
		t.Fatalf("a free GPU's failure told %d owners", n)
	}
	must(t, g.Heartbeat(ctx, node, report("unhealthy", "unhealthy", "Xid 79 (GPU has fallen off the bus)"), time.Now()))
	if n := count(`SELECT count(*) FROM outbox WHERE type = 'gpu.unhealthy'
		AND payload->'data'->>'allocation_id' = $1 AND payload->'data'->>'user_id' = $2
		AND payload->'data'->>'reason' LIKE 'Xid 79%'`, alloc.String(), owner.String()); n != 1 {
		t.Fatalf("%d gpu.unhealthy events for the owner, want 1", n)
	}
	if n := count(`SELECT count(*) FROM nodes WHERE id = $1 AND admin_state = 'maintenance'`, node); n != 1 {
		t.Fatal("the node is still in placement")
	}
	if n := count(`SELECT count(*) FROM audit_logs WHERE action = 'node.cordon' AND target_id = $1`, node.String()); n != 1 {
		t.Fatalf("%d node.cordon audit rows, want 1", n)
	}
	// Still unhealthy on the next report: told once, not on every heartbeat.
	must(t, g.Heartbeat(ctx, node, report("unhealthy", "healthy", "Xid 79 (GPU has fallen off the bus)", "again"), time.Now()))
	if n := count(`SELECT count(*) FROM outbox WHERE type = 'gpu.unhealthy'`); n != 1 {
		t.Fatalf("%d gpu.unhealthy events, want 1", n)
	}
}

// TestHeldGPUMissingFromTheReport: a held GPU the agent stops reporting
// (fallen off the bus) counts as failed too.
func TestHeldGPUMissingFromTheReport(t *testing.T) {
	ctx := context.Background()
	st := dbtest.New(t)
	node, _, _ := held(t, st)
	g := testGateway(st)
	must(t, g.Heartbeat(ctx, node, report("healthy", "healthy"), time.Now()))
	hb := report("healthy", "healthy")
	hb.GPUs = hb.GPUs[1:]
	must(t, g.Heartbeat(ctx, node, hb, time.Now()))
	var n int
	must(t, st.Pool().QueryRow(ctx, `SELECT count(*) FROM outbox WHERE type = 'gpu.unhealthy' AND payload->'data'->>'gpu_uuid' = 'GPU-a'`).Scan(&n))
	if n != 1 {
		t.Fatalf("%d events for the missing GPU, want 1", n)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestSweepPausesAndCountsGraceOnlyWhileUp: the sweep that marks a node
// offline runs OnOffline with its last heartbeat in the same transaction,
// and the node-lost grace grows only by what a sweeper saw: an hour with
// no control plane adds at most two sweeps.
func TestSweepPausesAndCountsGraceOnlyWhileUp(t *testing.T) {
	ctx := context.Background()
	st := dbtest.New(t)
	node, _, _ := held(t, st)
	last := time.Now().Add(-time.Minute).UTC().Truncate(time.Microsecond)
	_, err := st.Pool().Exec(ctx, `UPDATE nodes SET last_heartbeat_at = $1`, last)
	must(t, err)
	_, err = st.Pool().Exec(ctx, `INSERT INTO node_credentials (node_id, secret_hash) VALUES ($1, 'x')`, node)
	must(t, err)
	var paused []time.Time
	g := agentgw.New(st, nil, agentgw.Config{HeartbeatInterval: time.Second, Namespace: "test",
		OnOffline: func(ctx context.Context, tx *store.Store, id uuid.UUID, lastSeen time.Time) error {
			paused = append(paused, lastSeen)
			return nil
		}}, nil)
	n, err := g.SweepOnce(ctx, time.Now())
	must(t, err)
	if n != 1 || len(paused) != 1 || !paused[0].Equal(last) {
		t.Fatalf("swept %d, paused at %v, want the last heartbeat %v", n, paused, last)
	}
	// The control plane was down for an hour.
	_, err = st.Pool().Exec(ctx, `UPDATE nodes SET offline_checked_at = now() - interval '1 hour'`)
	must(t, err)
	_, err = g.SweepOnce(ctx, time.Now())
	must(t, err)
	var grace int64
	must(t, st.Pool().QueryRow(ctx, `SELECT offline_grace_micros FROM nodes WHERE id = $1`, node).Scan(&grace))
	if grace > time.Second.Microseconds() {
		t.Fatalf("grace grew by %s while no control plane ran", time.Duration(grace)*time.Microsecond)
	}
	// Coming back clears it.
	must(t, g.Heartbeat(ctx, node, report("healthy", "healthy"), time.Now()))
	must(t, st.Pool().QueryRow(ctx, `SELECT offline_grace_micros FROM nodes WHERE id = $1 AND offline_since IS NULL AND status = 'online'`, node).Scan(&grace))
}

// TestSweepWaitsForABusyHolder: a node whose stamp is late while another
// replica holds its agent and does not answer the liveness question in
// time is not marked offline (its billing not paused) until the stamp is
// three deadlines old; a node nobody holds is marked at the deadline. A
// fault run under load found a busy holder's node swept and its
// allocation's billing paused while its agent was heard all along.
func TestSweepWaitsForABusyHolder(t *testing.T) {
	ctx := context.Background()
	st := dbtest.New(t)
	node, _, _ := held(t, st)
	_, err := st.Pool().Exec(ctx, `INSERT INTO node_credentials (node_id, secret_hash) VALUES ($1, 'x')`, node)
	must(t, err)
	nc, err := nats.Connect("nats://127.0.0.1:4222")
	must(t, err)
	t.Cleanup(nc.Close)
	ns := "sweep" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	// The replica holding the agent: it answers, but only after a second.
	busy, err := nc.Subscribe(ns+".agent.task."+node.String(), func(m *nats.Msg) {
		time.Sleep(time.Second)
		b, _ := time.Now().MarshalText()
		_ = m.Respond(b)
	})
	must(t, err)
	var paused int
	g := agentgw.New(st, nil, agentgw.Config{HeartbeatInterval: time.Second, Namespace: ns, NATS: nc,
		OnOffline: func(context.Context, *store.Store, uuid.UUID, time.Time) error { paused++; return nil }}, nil)
	stamp := func(ago time.Duration) {
		_, err := st.Pool().Exec(ctx, `UPDATE nodes SET last_heartbeat_at = $1, status = 'online'`, time.Now().Add(-ago))
		must(t, err)
	}
	stamp(4 * time.Second) // past the 3 s deadline, within three of them
	n, err := g.SweepOnce(ctx, time.Now())
	must(t, err)
	if n != 0 || paused != 0 {
		t.Fatalf("a node whose holder was slow to answer was swept (%d) and paused (%d)", n, paused)
	}
	stamp(10 * time.Second) // a holder hung this long does not keep it online
	if n, err = g.SweepOnce(ctx, time.Now()); err != nil || n != 1 || paused != 1 {
		t.Fatalf("a stamp three deadlines old: swept %d, paused %d (%v)", n, paused, err)
	}
	must(t, busy.Unsubscribe())
	stamp(4 * time.Second) // nobody holds it: offline at the deadline
	if n, err = g.SweepOnce(ctx, time.Now()); err != nil || n != 1 || paused != 2 {
		t.Fatalf("a node nobody holds: swept %d, paused %d (%v)", n, paused, err)
	}
}

// TestGPUIndexesShiftUnderAHeldGPU: after a held GPU falls off the bus and
// the node restarts, the remaining devices are numbered again from 0. The
// held device's row keeps its allocation and is marked missing. The
// device that now has its index is recorded, and the heartbeat succeeds.
// It used to fail on the (node, index) unique key every time, so the
// node could never come back online. Two devices swapping indexes in one
// report are recorded too.
func TestGPUIndexesShiftUnderAHeldGPU(t *testing.T) {
	ctx := context.Background()
	st := dbtest.New(t)
	node, alloc, _ := held(t, st)
	g := testGateway(st)
	must(t, g.Heartbeat(ctx, node, report("healthy", "healthy"), time.Now()))
	shifted := agentproto.Heartbeat{GPUs: []agentproto.GPU{{Index: 0, UUID: "GPU-b", Model: h100, MemoryMiB: 81559, Health: "healthy"}}}
	must(t, g.Heartbeat(ctx, node, shifted, time.Now()))
	var idx int
	var health string
	must(t, st.Pool().QueryRow(ctx, `SELECT idx FROM gpus WHERE uuid = 'GPU-b'`).Scan(&idx))
	if idx != 0 {
		t.Fatalf("GPU-b is at index %d, want 0", idx)
	}
	var holder uuid.UUID
	must(t, st.Pool().QueryRow(ctx, `SELECT health, allocation_id FROM gpus WHERE uuid = 'GPU-a'`).Scan(&health, &holder))
	if health != "unhealthy" || holder != alloc {
		t.Fatalf("GPU-a: %s, held by %s", health, holder)
	}
	// A swap: a new device takes index 0 while GPU-b moves to index 1.
	swapped := agentproto.Heartbeat{GPUs: []agentproto.GPU{
		{Index: 1, UUID: "GPU-b", Model: h100, MemoryMiB: 81559, Health: "healthy"},
		{Index: 0, UUID: "GPU-c", Model: h100, MemoryMiB: 81559, Health: "healthy"},
	}}
	must(t, g.Heartbeat(ctx, node, swapped, time.Now()))
	must(t, st.Pool().QueryRow(ctx, `SELECT idx FROM gpus WHERE uuid = 'GPU-c'`).Scan(&idx))
	if idx != 0 {
		t.Fatalf("GPU-c is at index %d, want 0", idx)
	}
}
