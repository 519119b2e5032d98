package gpu

import "context"

// Static is a Discoverer that always reports the same inventory: the GPUs
// of a simulated node (gpuaas dev, tests, scale tests).
type Static struct{ Inventory Inventory }

// Discover implements Discoverer.
func (s Static) Discover(context.Context) (Inventory, error) { return s.Inventory, nil }
