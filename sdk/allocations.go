package sdk

import (
	"context"
	"net/http"
	"net/url"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
)

// CreateAllocation asks for GPUs of a SKU. A non-empty idempotencyKey makes
// a retry return the first response instead of creating again.
func (c *Client) CreateAllocation(ctx context.Context, req api.CreateAllocationRequest, idempotencyKey string) (api.Allocation, error) {
	var a api.Allocation
	cl := call{method: http.MethodPost, path: "/api/v1/allocations", in: req, out: &a, auth: true, want: http.StatusAccepted}
	if idempotencyKey != "" {
		cl.header = http.Header{"Idempotency-Key": {idempotencyKey}}
	}
	err := c.doJSON(ctx, cl)
	return a, err
}

// ListAllocations returns a page of the caller's allocations, newest first.
func (c *Client) ListAllocations(ctx context.Context, p api.ListAllocationsParams) (api.AllocationList, error) {
	var l api.AllocationList
	q := query{}
	q.page(p.PageSize, p.Cursor)
	if p.Status != nil {
		q.set("status", string(*p.Status))
	}
	q.str("team", p.Team)
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/allocations", query: q.values(), out: &l, auth: true})
	return l, err
}

// GetAllocation returns one of the caller's allocations.
func (c *Client) GetAllocation(ctx context.Context, id uuid.UUID) (api.Allocation, error) {
	var a api.Allocation
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/allocations/" + url.PathEscape(id.String()), out: &a, auth: true})
	return a, err
}

// ReleaseAllocation gives an allocation back; it answers once releasing.
func (c *Client) ReleaseAllocation(ctx context.Context, id uuid.UUID) (api.Allocation, error) {
	var a api.Allocation
	err := c.doJSON(ctx, call{method: http.MethodPost, path: "/api/v1/allocations/" + url.PathEscape(id.String()) + "/release",
		out: &a, auth: true, want: http.StatusAccepted})
	return a, err
}

// AdminListAllocations returns a page of every allocation.
func (c *Client) AdminListAllocations(ctx context.Context, p api.AdminListAllocationsParams) (api.AllocationList, error) {
	var l api.AllocationList
	q := query{}
	q.page(p.PageSize, p.Cursor)
	if p.Status != nil {
		q.set("status", string(*p.Status))
	}
	if p.UserId != nil {
		q.set("user_id", p.UserId.String())
	}
	if p.NodeId != nil {
		q.set("node_id", p.NodeId.String())
	}
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/admin/allocations", query: q.values(), out: &l, auth: true})
	return l, err
}

// AdminForceRelease releases any allocation from any non-terminal status.
func (c *Client) AdminForceRelease(ctx context.Context, id uuid.UUID, reason string) (api.Allocation, error) {
	var a api.Allocation
	err := c.doJSON(ctx, call{method: http.MethodPost,
		path: "/api/v1/admin/allocations/" + url.PathEscape(id.String()) + "/force-release",
		in:   api.ForceReleaseRequest{Reason: reason}, out: &a, auth: true, want: http.StatusAccepted})
	return a, err
}

// AdminOverview returns the platform's counts and recent revenue.
func (c *Client) AdminOverview(ctx context.Context) (api.Overview, error) {
	var o api.Overview
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/admin/overview", out: &o, auth: true})
	return o, err
}

// AdminListDeadLetters returns events consumers gave up on.
func (c *Client) AdminListDeadLetters(ctx context.Context, p api.AdminListDeadLettersParams) (api.DeadLetterList, error) {
	var l api.DeadLetterList
	q := query{}
	q.page(p.PageSize, p.Cursor)
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/admin/dead-letters", query: q.values(), out: &l, auth: true})
	return l, err
}

// ListLaunchables returns the catalogue of workloads an allocation can run.
func (c *Client) ListLaunchables(ctx context.Context) (api.LaunchableList, error) {
	var l api.LaunchableList
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/launchables", out: &l, auth: true})
	return l, err
}
