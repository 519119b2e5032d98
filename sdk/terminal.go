package sdk

import (
	"context"
	"net/http"
	"net/url"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
)

// MintTerminalToken asks for a single-use terminal token on an active
// allocation the caller owns.
func (c *Client) MintTerminalToken(ctx context.Context, allocationID uuid.UUID) (api.TerminalToken, error) {
	var t api.TerminalToken
	err := c.doJSON(ctx, call{method: http.MethodPost,
		path: "/api/v1/allocations/" + url.PathEscape(allocationID.String()) + "/terminal-token",
		out:  &t, auth: true, want: http.StatusCreated})
	return t, err
}
