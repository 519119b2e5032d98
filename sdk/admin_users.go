package sdk

import (
	"context"
	"net/http"
	"net/url"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
)

// AdminGetAllocation returns any allocation, with its owner.
func (c *Client) AdminGetAllocation(ctx context.Context, id uuid.UUID) (api.Allocation, error) {
	var a api.Allocation
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/admin/allocations/" + url.PathEscape(id.String()), out: &a, auth: true})
	return a, err
}

// AdminSuspendUser suspends a user, releasing their running allocations
// when releaseAllocations is set.
func (c *Client) AdminSuspendUser(ctx context.Context, id uuid.UUID, reason string, releaseAllocations bool) (api.User, error) {
	var u api.User
	err := c.doJSON(ctx, call{method: http.MethodPost, path: "/api/v1/admin/users/" + url.PathEscape(id.String()) + "/suspend",
		in: api.SuspendUserRequest{Reason: reason, ReleaseAllocations: &releaseAllocations}, out: &u, auth: true})
	return u, err
}

// AdminUnsuspendUser lifts a suspension.
func (c *Client) AdminUnsuspendUser(ctx context.Context, id uuid.UUID) (api.User, error) {
	var u api.User
	err := c.doJSON(ctx, call{method: http.MethodPost, path: "/api/v1/admin/users/" + url.PathEscape(id.String()) + "/unsuspend", out: &u, auth: true})
	return u, err
}

// AdminDeleteUser removes a user's personal data; the ledger stays.
func (c *Client) AdminDeleteUser(ctx context.Context, id uuid.UUID) error {
	return c.doJSON(ctx, call{method: http.MethodDelete, path: "/api/v1/admin/users/" + url.PathEscape(id.String()),
		auth: true, want: http.StatusNoContent})
}

// AdminIssuePasswordReset makes a one-time password reset link for a user.
func (c *Client) AdminIssuePasswordReset(ctx context.Context, id uuid.UUID) (api.PasswordResetLink, error) {
	var l api.PasswordResetLink
	err := c.doJSON(ctx, call{method: http.MethodPost, path: "/api/v1/admin/users/" + url.PathEscape(id.String()) + "/password-reset",
		out: &l, auth: true, want: http.StatusCreated})
	return l, err
}

// RedeemPasswordReset sets a new password with a reset link's token.
func (c *Client) RedeemPasswordReset(ctx context.Context, token, newPassword string) error {
	return c.doJSON(ctx, call{method: http.MethodPost, path: "/api/v1/auth/password-reset",
		in: api.RedeemPasswordResetRequest{Token: token, NewPassword: newPassword}, want: http.StatusNoContent})
}

// AdminListAuditActions returns every audit action with its readable name
// and category.
func (c *Client) AdminListAuditActions(ctx context.Context) (api.AuditActionList, error) {
	var l api.AuditActionList
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/admin/audit-actions", out: &l, auth: true})
	return l, err
}
