package gpu_test

import (
	"context"
	"testing"
	"time"

	"github.com/gpuaas/gpuaas/internal/gpu"
)

func TestSimulatedFollowsBusy(t *testing.T) {
	at := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	sim := gpu.Simulated{
		Inventory: gpu.Inventory{GPUs: []gpu.Device{
			{Index: 0, UUID: "GPU-a", MemoryTotalMiB: 81559, Health: gpu.Healthy},
			{Index: 1, UUID: "GPU-b", MemoryTotalMiB: 81559, Health: gpu.Healthy},
		}},
		Now: func() time.Time { return at },
	}
	inv, err := sim.DiscoverBusy(context.Background(), map[string]bool{"GPU-a": true})
	if err != nil {
		t.Fatal(err)
	}
	busy, idle := inv.GPUs[0], inv.GPUs[1]
	if busy.UtilizationGPUPercent < 70 || busy.MemoryUsedMiB < 40000 || busy.PowerDrawW < 400 || busy.TemperatureC < 55 {
		t.Errorf("busy GPU: %+v", busy)
	}
	if idle.UtilizationGPUPercent > 5 || idle.MemoryUsedMiB != 0 || idle.PowerDrawW > 100 || idle.TemperatureC > 40 {
		t.Errorf("idle GPU: %+v", idle)
	}
	// The values move with time.
	at = at.Add(90 * time.Second)
	later, _ := sim.DiscoverBusy(context.Background(), map[string]bool{"GPU-a": true})
	if later.GPUs[0].PowerDrawW == busy.PowerDrawW && later.GPUs[0].UtilizationGPUPercent == busy.UtilizationGPUPercent {
		t.Errorf("simulated telemetry did not change in 90 s: %+v", later.GPUs[0])
	}
	// The template is not changed.
	if sim.Inventory.GPUs[0].UtilizationGPUPercent != 0 {
		t.Error("Simulated changed its template inventory")
	}
}
