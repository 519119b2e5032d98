package sdk

import (
	"context"
	"net/http"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
)

// ListNotifications returns a page of the caller's stored notifications,
// newest first, with the unread count.
func (c *Client) ListNotifications(ctx context.Context, p api.ListNotificationsParams) (api.NotificationList, error) {
	var l api.NotificationList
	q := query{}
	q.page(p.PageSize, p.Cursor)
	if p.Unread != nil && *p.Unread {
		q.set("unread", "true")
	}
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/notifications", query: q.values(), out: &l, auth: true})
	return l, err
}

// MarkNotificationsRead marks ids read, or every notification of the
// caller when all is set.
func (c *Client) MarkNotificationsRead(ctx context.Context, ids []uuid.UUID, all bool) (api.MarkNotificationsReadResponse, error) {
	var out api.MarkNotificationsReadResponse
	req := api.MarkNotificationsReadRequest{}
	if all {
		req.All = &all
	} else {
		req.Ids = &ids
	}
	err := c.doJSON(ctx, call{method: http.MethodPost, path: "/api/v1/notifications/read", in: req, out: &out, auth: true})
	return out, err
}
