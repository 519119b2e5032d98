package overview

import (
	"context"
	"fmt"
	"time"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/store"
)

// Get reads the overview as of now.
func Get(ctx context.Context, st *store.Store, now time.Time) (api.Overview, error) {
	var o api.Overview
	users, err := st.CountUsers(ctx)
	if err != nil {
		return o, fmt.Errorf("count users: %w", err)
	}
	o.Users = users
	o.Nodes = map[string]int64{"online": 0, "offline": 0, "active": 0, "maintenance": 0, "disabled": 0}
	nodes, err := st.CountNodesByState(ctx)
	if err != nil {
		return o, fmt.Errorf("count nodes: %w", err)
	}
	for _, n := range nodes {
		o.Nodes[n.Status] += n.N
		o.Nodes[n.AdminState] += n.N
	}
	gpus, err := st.CountGPUsByState(ctx)
	if err != nil {
		return o, fmt.Errorf("count gpus: %w", err)
	}
	o.Gpus.Free, o.Gpus.Allocated, o.Gpus.Unhealthy = gpus.Free, gpus.Allocated, gpus.Unhealthy
	o.Allocations = map[string]int64{}
	for _, s := range []api.AllocationStatus{api.AllocationStatusRequested, api.AllocationStatusProvisioning,
		api.AllocationStatusActive, api.AllocationStatusReleasing, api.AllocationStatusReleased,
		api.AllocationStatusFailed, api.AllocationStatusReleaseFailed} {
		o.Allocations[string(s)] = 0
	}
	allocs, err := st.CountAllocationsByStatus(ctx)
	if err != nil {
		return o, fmt.Errorf("count allocations: %w", err)
	}
	for _, a := range allocs {
		o.Allocations[a.Status] = a.N
	}
	revenue, err := st.UsageRevenueSince(ctx, now.Add(-24*time.Hour))
	if err != nil {
		return o, fmt.Errorf("sum revenue: %w", err)
	}
	o.Revenue24h = make([]api.Money, 0, len(revenue))
	for _, r := range revenue {
		o.Revenue24h = append(o.Revenue24h, api.Money{AmountMinor: r.AmountMinor, Currency: r.Currency})
	}
	return o, nil
}
