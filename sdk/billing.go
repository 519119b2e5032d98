package sdk

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
)

// Balance returns the caller's balance, burn rate and runway.
func (c *Client) Balance(ctx context.Context) (api.BalanceResponse, error) {
	var b api.BalanceResponse
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/billing/balance", out: &b, auth: true})
	return b, err
}

func usageQuery(pageSize *int, cursor *string, alloc *uuid.UUID, since, until *api.Since, team *string) url.Values {
	q := query{}
	q.str("team", team)
	q.page(pageSize, cursor)
	q.audit(nil, nil, nil, since, until)
	if alloc != nil {
		q.set("allocation_id", alloc.String())
	}
	return q.values()
}

// ListUsage returns a page of the caller's usage windows.
func (c *Client) ListUsage(ctx context.Context, p api.ListUsageParams) (api.UsageList, error) {
	var l api.UsageList
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/billing/usage",
		query: usageQuery(p.PageSize, p.Cursor, p.AllocationId, p.Since, p.Until, p.Team), out: &l, auth: true})
	return l, err
}

// UsagePages pages through the caller's usage windows.
func (c *Client) UsagePages(p api.ListUsageParams) PageFunc[api.UsageRecord] {
	return func(ctx context.Context, cursor string) ([]api.UsageRecord, string, error) {
		p.Cursor = ptrOrNil(cursor)
		l, err := c.ListUsage(ctx, p)
		return l.Items, l.NextCursor, err
	}
}

// ListStorageCharges returns a page of the caller's daily storage charges.
func (c *Client) ListStorageCharges(ctx context.Context, p api.ListStorageChargesParams) (api.StorageChargeList, error) {
	var l api.StorageChargeList
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/billing/storage-charges",
		query: usageQuery(p.PageSize, p.Cursor, nil, p.Since, p.Until, p.Team), out: &l, auth: true})
	return l, err
}

// ExportUsageCSV streams the caller's usage as CSV into w.
func (c *Client) ExportUsageCSV(ctx context.Context, p api.ExportUsageCSVParams, w io.Writer) (int64, error) {
	resp, err := c.send(ctx, call{method: http.MethodGet, path: "/api/v1/billing/usage/csv",
		query: usageQuery(nil, nil, p.AllocationId, p.Since, p.Until, p.Team), auth: true})
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("read usage export: %w", err)
	}
	return n, nil
}

// AdminAdjustBalance credits (positive) or debits (negative) a user. A
// non-empty idempotencyKey makes a retry return the first response.
func (c *Client) AdminAdjustBalance(ctx context.Context, user uuid.UUID, req api.AdjustBalanceRequest, idempotencyKey string) (api.BalanceResponse, error) {
	var b api.BalanceResponse
	cl := call{method: http.MethodPost, path: "/api/v1/admin/users/" + url.PathEscape(user.String()) + "/balance",
		in: req, out: &b, auth: true}
	if idempotencyKey != "" {
		cl.header = http.Header{"Idempotency-Key": {idempotencyKey}}
	}
	err := c.doJSON(ctx, cl)
	return b, err
}
