package sdk

import (
	"context"
	"fmt"
	"iter"

	"github.com/gpuaas/gpuaas/api"
)

// PageFunc fetches the page that starts at cursor ("" for the first) and
// returns its items and the next cursor ("" on the last page).
type PageFunc[T any] func(ctx context.Context, cursor string) (items []T, next string, err error)

// All iterates over every item of every page, fetching pages as it goes.
// It stops at the first error, which it yields with a zero item. A server
// that hands back a cursor it already gave ends the walk with an error
// rather than looping forever.
func All[T any](ctx context.Context, fetch PageFunc[T]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		seen := map[string]bool{}
		cursor := ""
		for {
			items, next, err := fetch(ctx, cursor)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if next == "" {
				return
			}
			if seen[next] {
				var zero T
				yield(zero, fmt.Errorf("server repeated cursor %q", next))
				return
			}
			seen[next] = true
			cursor = next
		}
	}
}

// Collect gathers every item of every page.
func Collect[T any](ctx context.Context, fetch PageFunc[T]) ([]T, error) {
	var out []T
	for it, err := range All(ctx, fetch) {
		if err != nil {
			return out, err
		}
		out = append(out, it)
	}
	return out, nil
}

// SKUPages pages through ListSKUs.
func (c *Client) SKUPages(p api.ListSkusParams) PageFunc[api.SKU] {
	return func(ctx context.Context, cursor string) ([]api.SKU, string, error) {
		p.Cursor = ptrOrNil(cursor)
		l, err := c.ListSKUs(ctx, p)
		return l.Items, l.NextCursor, err
	}
}

// NodePages pages through ListNodes.
func (c *Client) NodePages(p api.ListNodesParams) PageFunc[api.Node] {
	return func(ctx context.Context, cursor string) ([]api.Node, string, error) {
		p.Cursor = ptrOrNil(cursor)
		l, err := c.ListNodes(ctx, p)
		return l.Items, l.NextCursor, err
	}
}

// AdminNodePages pages through AdminListNodes.
func (c *Client) AdminNodePages(p api.AdminListNodesParams) PageFunc[api.Node] {
	return func(ctx context.Context, cursor string) ([]api.Node, string, error) {
		p.Cursor = ptrOrNil(cursor)
		l, err := c.AdminListNodes(ctx, p)
		return l.Items, l.NextCursor, err
	}
}

// AdminUserPages pages through AdminListUsers.
func (c *Client) AdminUserPages(p api.AdminListUsersParams) PageFunc[api.User] {
	return func(ctx context.Context, cursor string) ([]api.User, string, error) {
		p.Cursor = ptrOrNil(cursor)
		l, err := c.AdminListUsers(ctx, p)
		return l.Items, l.NextCursor, err
	}
}

// AdminAuditLogPages pages through AdminListAuditLogs.
func (c *Client) AdminAuditLogPages(p api.AdminListAuditLogsParams) PageFunc[api.AuditLog] {
	return func(ctx context.Context, cursor string) ([]api.AuditLog, string, error) {
		p.Cursor = ptrOrNil(cursor)
		l, err := c.AdminListAuditLogs(ctx, p)
		return l.Items, l.NextCursor, err
	}
}

func ptrOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Ptr returns a pointer to v, for the optional fields of params structs.
func Ptr[T any](v T) *T { return &v }
