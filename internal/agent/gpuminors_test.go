package agent_test

import (
	"context"
	"maps"
	"testing"

	"github.com/gpuaas/gpuaas/internal/agent"
	"github.com/gpuaas/gpuaas/internal/gpu"
)

// The process runtime finds a GPU's device node by the minor number
// discovery reports, which need not be its index.
func TestGPUMinorsFromDiscovery(t *testing.T) {
	t.Parallel()
	inv := gpu.Inventory{GPUs: []gpu.Device{
		{Index: 0, UUID: "GPU-a", MinorNumber: 1},
		{Index: 1, UUID: "GPU-b", MinorNumber: 0},
		{Index: 2, UUID: "GPU-c", MinorNumber: -1},
	}}
	got, err := agent.GPUMinors(gpu.Static{Inventory: inv})(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"GPU-a": 1, "GPU-b": 0, "GPU-c": -1}; !maps.Equal(got, want) {
		t.Errorf("minors %v, want %v", got, want)
	}

	noDriver := gpu.Static{Inventory: gpu.Inventory{Note: "nvidia-smi not found"}}
	if _, err := agent.GPUMinors(noDriver)(context.Background()); err == nil {
		t.Error("a discovery that found no GPUs and says why: no error")
	}
}
