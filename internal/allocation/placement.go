package allocation

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// placementSpread is how many of the best-fitting nodes concurrent creates
// are spread over.
const placementSpread = 4

// placedGPU is a device reserved for an allocation; it renders as
// {index, uuid}.
type placedGPU struct {
	id    uuid.UUID
	Index int    `json:"index"`
	UUID  string `json:"uuid"`
}

// place picks sku.GpuCount healthy free GPUs of the SKU's model on one
// online, active node of its region, and locks them for tx.
//
// Candidates come fullest-first (best fit), starting at a random one of the
// first few: each reservation updates its node's capacity row, so creates
// that all chose the same node would queue on that row. On each, the node
// is held FOR SHARE (so it cannot be disabled underneath us) and its free GPUs are
// taken FOR UPDATE SKIP LOCKED with a LIMIT: concurrent creates take
// disjoint devices instead of queueing on the same rows, and a device a
// concurrent transaction reserved fails the re-check. A node that turns out
// to be short (raced away) is skipped for the next.
func place(ctx context.Context, tx *store.Store, sku db.Sku) (uuid.UUID, []placedGPU, error) {
	candidates, err := tx.PlacementCandidates(ctx, db.PlacementCandidatesParams{
		Region: sku.Region, Model: sku.GpuModel, GpuCount: sku.GpuCount,
	})
	if err != nil {
		return uuid.Nil, nil, fmt.Errorf("find placement candidates: %w", err)
	}
	spread := rand.IntN(min(len(candidates), placementSpread) + 1)
	candidates = append(candidates[spread:], candidates[:spread]...)
	for _, c := range candidates {
		if _, err := tx.LockPlacementNode(ctx, c.ID); store.IsNoRows(err) {
			continue // went offline or out of service since the scan
		} else if err != nil {
			return uuid.Nil, nil, fmt.Errorf("lock node: %w", err)
		}
		rows, err := tx.LockFreeGPUs(ctx, db.LockFreeGPUsParams{NodeID: c.ID, Model: sku.GpuModel, GpuCount: sku.GpuCount})
		if err != nil {
			return uuid.Nil, nil, fmt.Errorf("lock free gpus: %w", err)
		}
		if len(rows) < int(sku.GpuCount) {
			continue
		}
		gpus := make([]placedGPU, len(rows))
		for i, r := range rows {
			gpus[i] = placedGPU{id: r.ID, Index: int(r.Idx), UUID: r.Uuid}
		}
		return c.ID, gpus, nil
	}
	return uuid.Nil, nil, apperr.Conflict(CodeInsufficientCapacity,
		"no node has %d free %s GPUs in %s right now", sku.GpuCount, sku.GpuModel, sku.Region)
}
