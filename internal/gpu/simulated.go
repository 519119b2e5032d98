package gpu

import (
	"context"
	"hash/fnv"
	"math"
	"time"
)

// Simulated is the Discoverer of gpuaas dev's simulated nodes: the devices
// of Inventory with telemetry that moves, so the console's charts have
// something to draw. A GPU that an allocation holds (DiscoverBusy) runs
// busy, near full utilisation, memory and power; an idle one idles. Every
// value is made up: nothing here reads a GPU.
type Simulated struct {
	Inventory Inventory
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Discover implements Discoverer, every GPU idle.
func (s Simulated) Discover(ctx context.Context) (Inventory, error) { return s.DiscoverBusy(ctx, nil) }

// DiscoverBusy is Discover with the GPUs (by UUID) that allocations hold.
func (s Simulated) DiscoverBusy(_ context.Context, busy map[string]bool) (Inventory, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	t := float64(now().UnixNano()) / 1e9
	inv := s.Inventory
	inv.GPUs = make([]Device, len(s.Inventory.GPUs))
	for i, d := range s.Inventory.GPUs {
		inv.GPUs[i] = simulate(d, busy[d.UUID], t)
	}
	return inv, nil
}

// simulate fills d's telemetry at time t (seconds): slow waves, out of
// phase per GPU, around an idle or a busy level.
func simulate(d Device, busy bool, t float64) Device {
	h := fnv.New32a()
	_, _ = h.Write([]byte(d.UUID))
	phase := float64(h.Sum32()%1000) / 1000 * 2 * math.Pi
	wave := math.Sin(t/60*2*math.Pi/5 + phase)         // five-minute period
	ripple := math.Sin(t/60*2*math.Pi/0.7+2*phase) / 3 // faster, smaller
	x := (wave + ripple) / (4.0 / 3)                   // in [-1, 1]
	limit := d.PowerLimitW
	if limit <= 0 {
		limit = 700
	}
	if busy {
		d.UtilizationGPUPercent = clamp(int(math.Round(85+12*x)), 0, 100)
		d.MemoryUsedMiB = int(float64(d.MemoryTotalMiB) * (0.7 + 0.15*x))
		d.TemperatureC = int(math.Round(68 + 8*x))
		d.PowerDrawW = math.Round(limit*(0.8+0.12*x)*10) / 10
	} else {
		d.UtilizationGPUPercent = clamp(int(math.Round(1+x)), 0, 100)
		d.MemoryUsedMiB = 0
		d.TemperatureC = int(math.Round(34 + 2*x))
		d.PowerDrawW = math.Round(limit*(0.1+0.01*x)*10) / 10
	}
	if d.PowerLimitW <= 0 {
		d.PowerLimitW = limit
	}
	return d
}

func clamp(v, lo, hi int) int { return max(lo, min(hi, v)) }
