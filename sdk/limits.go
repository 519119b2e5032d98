package sdk

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
)

// SpendLimits is the caller's spend limits and how much of each is used.
func (c *Client) SpendLimits(ctx context.Context) (api.SpendLimits, error) {
	var l api.SpendLimits
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/billing/limits", out: &l, auth: true})
	return l, err
}

// DailySpend is the caller's usage charges per UTC day and SKU over the
// last days days (0: the server's default of 30).
func (c *Client) DailySpend(ctx context.Context, days int) (api.DailySpend, error) {
	var d api.DailySpend
	cl := call{method: http.MethodGet, path: "/api/v1/billing/daily-spend", out: &d, auth: true}
	if days != 0 {
		cl.query = url.Values{"days": {strconv.Itoa(days)}}
	}
	err := c.doJSON(ctx, cl)
	return d, err
}

// AdminUserLimits is a user's spend limits and their use (admin).
func (c *Client) AdminUserLimits(ctx context.Context, user uuid.UUID) (api.SpendLimits, error) {
	var l api.SpendLimits
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/admin/users/" + url.PathEscape(user.String()) + "/limits", out: &l, auth: true})
	return l, err
}

// AdminSetUserLimits replaces a user's spend limits; a nil field returns
// that limit to the platform default (admin).
func (c *Client) AdminSetUserLimits(ctx context.Context, user uuid.UUID, req api.SpendLimitsRequest) (api.SpendLimits, error) {
	var l api.SpendLimits
	err := c.doJSON(ctx, call{method: http.MethodPut, path: "/api/v1/admin/users/" + url.PathEscape(user.String()) + "/limits",
		in: req, out: &l, auth: true})
	return l, err
}

// NotificationPreferences is which notification kinds the caller is mailed.
func (c *Client) NotificationPreferences(ctx context.Context) (api.NotificationPreferences, error) {
	var p api.NotificationPreferences
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/users/me/notification-preferences", out: &p, auth: true})
	return p, err
}

// SetNotificationPreferences replaces the kinds the caller is not mailed.
func (c *Client) SetNotificationPreferences(ctx context.Context, optOut []string) (api.NotificationPreferences, error) {
	if optOut == nil {
		optOut = []string{}
	}
	var p api.NotificationPreferences
	err := c.doJSON(ctx, call{method: http.MethodPut, path: "/api/v1/users/me/notification-preferences",
		in: api.NotificationPreferencesRequest{EmailOptOut: optOut}, out: &p, auth: true})
	return p, err
}
