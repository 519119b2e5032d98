package telemetry_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/store/dbtest"
	"github.com/gpuaas/gpuaas/internal/telemetry"
)

var ctx = context.Background()

// TestTelemetryRetention: the retention job drops the hourly partitions
// past 24 hours, with their samples, keeps younger ones, and makes the
// partitions ahead so samples keep landing.
func TestTelemetryRetention(t *testing.T) {
	st := dbtest.New(t)
	now := time.Now()
	old, fresh := now.Add(-26*time.Hour), now.Add(-time.Hour)
	if _, _, err := telemetry.RetainOnce(ctx, st, old); err != nil { // the partitions of back then
		t.Fatal(err)
	}
	rec := telemetry.NewRecorder(st, nil)
	node := uuid.New()
	g := []agentproto.GPU{{Index: 0, UUID: "GPU-retention", Utilization: 50}}
	rec.Observe(node, g, old)
	rec.Observe(node, g, fresh)
	rec.Observe(node, g, now)
	if n, err := rec.Flush(ctx); err != nil || n != 3 {
		t.Fatalf("flush: %d %v", n, err)
	}
	count := func() (older, younger int) {
		t.Helper()
		if err := st.Pool().QueryRow(ctx, `SELECT count(*) FILTER (WHERE t < now() - interval '24 hours'),
			count(*) FILTER (WHERE t >= now() - interval '24 hours') FROM gpu_samples WHERE gpu_uuid = 'GPU-retention'`).
			Scan(&older, &younger); err != nil {
			t.Fatal(err)
		}
		return
	}
	if o, y := count(); o != 1 || y != 2 {
		t.Fatalf("before retention: %d older, %d younger", o, y)
	}
	_, dropped, err := telemetry.RetainOnce(ctx, st, now)
	if err != nil || dropped == 0 {
		t.Fatalf("retention: dropped %d, %v", dropped, err)
	}
	if o, y := count(); o != 0 || y != 2 {
		t.Fatalf("after retention: %d older, %d younger", o, y)
	}
	// Hours ahead exist: a sample from 3 hours on lands.
	rec.Observe(node, g, now.Add(3*time.Hour))
	if n, err := rec.Flush(ctx); err != nil || n != 1 {
		t.Fatalf("flush ahead: %d %v", n, err)
	}
}
