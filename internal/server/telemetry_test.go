package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/sdk"
)

// TestTelemetryReachesOwnerOnly: heartbeats of a simulated node go
// through the gateway (the real heartbeat path) into gpu_samples; the
// allocation's owner sees its own GPU's samples and no other GPU's,
// another user gets 404, the admin sees every GPU of the node, and the
// per-GPU Prometheus series follow the last heartbeat and go with the
// node.
func TestTelemetryReachesOwnerOnly(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, func(c *config.Server) { c.HeartbeatInterval = time.Second })
	seedInventory(t, env)
	env.Fund(t, 100_000)
	owner, _ := env.As("user")
	other, _ := env.As("user")
	admin, _ := env.As("admin")

	a, err := owner.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	a = waitStatus(t, owner, a.Id, api.AllocationStatusActive)
	var nodeID uuid.UUID
	var held string
	if err := env.App.Store.Pool().QueryRow(ctx, `SELECT node_id, gpus->0->>'uuid' FROM allocations WHERE id = $1`, a.Id).
		Scan(&nodeID, &held); err != nil {
		t.Fatal(err)
	}
	var gpus []agentproto.GPU
	rows, err := env.App.Store.Pool().Query(ctx, `SELECT idx, uuid, memory_mib FROM gpus WHERE node_id = $1 ORDER BY idx`, nodeID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var g agentproto.GPU
		if err := rows.Scan(&g.Index, &g.UUID, &g.MemoryMiB); err != nil {
			t.Fatal(err)
		}
		g.Health, g.Utilization, g.TemperatureC, g.MemoryUsedMiB, g.PowerW = "healthy", 3, 35, 0, 70
		if g.UUID == held {
			g.Utilization, g.TemperatureC, g.MemoryUsedMiB, g.PowerW, g.ECCCorrected = 97, 66, 40000, 650.4, 2
		}
		gpus = append(gpus, g)
	}
	if len(gpus) < 2 {
		t.Fatalf("node %s has %d GPUs; the test needs another besides the allocation's", nodeID, len(gpus))
	}
	for i := range 3 {
		now := time.Now()
		hb := agentproto.Heartbeat{Type: "heartbeat", Seq: uint64(i + 1), GPUs: gpus, Allocations: []string{a.Id.String()}, SentAt: now}
		if err := env.App.Agents.Heartbeat(ctx, nodeID, hb, now); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := env.App.Telemetry.Flush(ctx); err != nil || n != 3*len(gpus) {
		t.Fatalf("flush: %d samples, %v", n, err)
	}

	m, err := owner.AllocationMetrics(ctx, a.Id, "10m", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Gpus) != 1 || m.Gpus[0].Uuid != held || len(m.Gpus[0].Samples) == 0 {
		t.Fatalf("owner's metrics: %+v", m)
	}
	s := m.Gpus[0].Samples[len(m.Gpus[0].Samples)-1]
	if s.UtilizationPct != 97 || s.MemoryUsedMib != 40000 || s.TemperatureC != 66 || s.PowerW != 650 {
		t.Fatalf("owner's sample: %+v", s)
	}
	if m.StepSeconds < 1 {
		t.Fatalf("step %d", m.StepSeconds)
	}
	// step buckets: one 60 s bucket holds all three heartbeats.
	m, err = owner.AllocationMetrics(ctx, a.Id, "10m", "60s")
	if err != nil || m.StepSeconds != 60 || len(m.Gpus[0].Samples) > 2 {
		t.Fatalf("60 s step: %+v %v", m, err)
	}

	// Nobody else's.
	if _, err := other.AllocationMetrics(ctx, a.Id, "", ""); !isStatus(err, http.StatusNotFound) {
		t.Fatalf("another user: %v", err)
	}
	if _, err := other.AdminNodeMetrics(ctx, nodeID, "", ""); !isStatus(err, http.StatusForbidden) {
		t.Fatalf("a user on the admin route: %v", err)
	}
	// Bad windows are 400.
	for _, q := range [][2]string{{"yesterday", ""}, {"", "100ms"}, {"", "abc"}, {"-5m", ""}} {
		if _, err := owner.AllocationMetrics(ctx, a.Id, q[0], q[1]); !isStatus(err, http.StatusBadRequest) {
			t.Fatalf("since=%q step=%q: %v", q[0], q[1], err)
		}
	}

	// The admin sees every GPU of the node, by index.
	nm, err := admin.AdminNodeMetrics(ctx, nodeID, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(nm.Gpus) != len(gpus) {
		t.Fatalf("admin: %d series, want %d", len(nm.Gpus), len(gpus))
	}
	for i, g := range nm.Gpus {
		if g.Index != i || len(g.Samples) == 0 {
			t.Fatalf("admin series %d: %+v", i, g)
		}
	}
	if _, err := admin.AdminNodeMetrics(ctx, uuid.New(), "", ""); !isStatus(err, http.StatusNotFound) {
		t.Fatalf("unknown node: %v", err)
	}

	// Prometheus: one series per GPU, gone with the node.
	if got := gpuGauge(t, env, "gpuaas_gpu_utilization_ratio", held); got != 0.97 {
		t.Fatalf("utilization gauge %v", got)
	}
	if got := gpuGauge(t, env, "gpuaas_gpu_power_watts", held); got != 650.4 {
		t.Fatalf("power gauge %v", got)
	}
	env.App.Telemetry.Forget(nodeID)
	if got := gpuGauge(t, env, "gpuaas_gpu_utilization_ratio", held); got != -1 {
		t.Fatalf("series after the node went: %v", got)
	}
}

// gpuGauge is the value of a per-GPU gauge for the GPU, or -1 when there
// is no such series.
func gpuGauge(t *testing.T, env *servertest.Env, name, gpuUUID string) float64 {
	t.Helper()
	mfs, err := env.App.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "uuid" && l.GetValue() == gpuUUID {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return -1
}

func isStatus(err error, status int) bool {
	e, ok := sdk.AsError(err)
	return ok && e.Status == status
}
