package inventory

import (
	"context"
	"fmt"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

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
func (s *Service) SeedRegion(ctx context.Context, r Region) error {
	if err := s.store.UpsertRegion(ctx, db.UpsertRegionParams{ID: r.ID, Name: r.Name}); err != nil {
		return fmt.Errorf("seed region %s: %w", r.ID, err)
	}
	return nil
}

// SeedSKU creates a SKU if its id is free, with the first entry of its
// price history; an existing SKU is left as it is, so an operator's price
// change survives a restart.
func (s *Service) SeedSKU(ctx context.Context, k api.SKU) error {
	err := s.store.InTx(ctx, func(tx *store.Store) error {
		n, err := tx.UpsertSKU(ctx, db.UpsertSKUParams{
			ID: k.Id, Name: k.Name, GpuModel: k.GpuModel, GpuCount: int32(k.GpuCount),
			GpuMemoryMib: int32(k.GpuMemoryMib), Vcpu: int32(k.Vcpu), MemoryMib: k.MemoryMib,
			DiskGib: int32(k.DiskGib), PricePerHourMinor: k.PricePerHourMinor, Currency: k.Currency,
			Region: k.Region, Active: k.Active,
		})
		if err != nil || n == 0 {
			return err
		}
		return tx.InsertSKUPrice(ctx, db.InsertSKUPriceParams{SkuID: k.Id, PricePerHourMinor: k.PricePerHourMinor})
	})
	if err != nil {
		return fmt.Errorf("seed sku %s: %w", k.Id, err)
	}
	return nil
}

// SeedNode creates an online node with its GPUs if the hostname is free, and
// reports whether it did. An existing node is left as it is.
func (s *Service) SeedNode(ctx context.Context, hostname, region string, gpus []GPUSpec) (bool, error) {
	created := false
	err := s.store.InTx(ctx, func(tx *store.Store) error {
		n, err := tx.UpsertNodeOnline(ctx, db.UpsertNodeOnlineParams{Hostname: hostname, Region: region})
		if store.IsNoRows(err) {
			return nil // exists
		}
		if err != nil {
			return err
		}
		for _, g := range gpus {
			if err := tx.InsertGPU(ctx, db.InsertGPUParams{
				NodeID: n.ID, Idx: int32(g.Index), Uuid: g.UUID, Model: g.Model,
				MemoryMib: int32(g.MemoryMiB), Health: string(api.GPUHealthHealthy),
			}); err != nil {
				return err
			}
		}
		created = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("seed node %s: %w", hostname, err)
	}
	return created, nil
}
