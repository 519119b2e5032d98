package sdk

import (
	"context"
	"net/http"
	"net/url"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
)

// ListAPITokens returns the caller's unrevoked API tokens, newest first,
// without their secrets.
func (c *Client) ListAPITokens(ctx context.Context) (api.APITokenList, error) {
	var l api.APITokenList
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/users/me/tokens", out: &l, auth: true})
	return l, err
}

// CreateAPIToken creates an API token; its secret (Token) is in this
// answer only.
func (c *Client) CreateAPIToken(ctx context.Context, req api.CreateAPITokenRequest) (api.CreatedAPIToken, error) {
	var t api.CreatedAPIToken
	err := c.doJSON(ctx, call{method: http.MethodPost, path: "/api/v1/users/me/tokens",
		in: req, out: &t, auth: true, want: http.StatusCreated})
	return t, err
}

// RevokeAPIToken revokes one of the caller's API tokens.
func (c *Client) RevokeAPIToken(ctx context.Context, id uuid.UUID) error {
	return c.doJSON(ctx, call{method: http.MethodDelete, path: "/api/v1/users/me/tokens/" + url.PathEscape(id.String()),
		auth: true, want: http.StatusNoContent})
}
