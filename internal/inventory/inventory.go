package inventory

import (
	"context"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/store"
)

// Service manages the inventory.
type Service struct {
	store *store.Store
}

// New returns a Service over st.
func New(st *store.Store) *Service { return &Service{store: st} }

// Region is a place nodes live in.
type Region struct {
	ID   string
	Name string
}

// GPUSpec is one GPU device as an agent (or the dev seed) reports it.
type GPUSpec struct {
	Index     int
	UUID      string
	Model     string
	MemoryMiB int
}

// SeedRegion creates or renames a region.
func (s *Service) SeedRegion(ctx context.Context, r Region) error { panic("TODO") }

// SeedSKU creates a SKU if its id is free; an existing SKU is left as it is.
func (s *Service) SeedSKU(ctx context.Context, sku api.SKU) error { panic("TODO") }

// SeedNode creates an online node with its GPUs if the hostname is free,
// and reports whether it did.
func (s *Service) SeedNode(ctx context.Context, hostname, region string, gpus []GPUSpec) (bool, error) {
	panic("TODO")
}
