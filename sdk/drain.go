package sdk

import (
	"context"
	"net/http"
	"net/url"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
)

// AdminDrainNode stops placements on a node and schedules the release of
// what runs there at req.Deadline.
func (c *Client) AdminDrainNode(ctx context.Context, id uuid.UUID, req api.DrainNodeRequest) (api.Node, error) {
	var n api.Node
	err := c.doJSON(ctx, call{method: http.MethodPost, path: "/api/v1/admin/nodes/" + url.PathEscape(id.String()) + "/drain",
		in: req, out: &n, auth: true})
	return n, err
}

// AdminUndrainNode returns a draining node to service.
func (c *Client) AdminUndrainNode(ctx context.Context, id uuid.UUID) (api.Node, error) {
	var n api.Node
	err := c.doJSON(ctx, call{method: http.MethodPost, path: "/api/v1/admin/nodes/" + url.PathEscape(id.String()) + "/undrain",
		out: &n, auth: true})
	return n, err
}

// AdminDecommissionNode retires an empty node for good.
func (c *Client) AdminDecommissionNode(ctx context.Context, id uuid.UUID) (api.Node, error) {
	var n api.Node
	err := c.doJSON(ctx, call{method: http.MethodPost, path: "/api/v1/admin/nodes/" + url.PathEscape(id.String()) + "/decommission",
		out: &n, auth: true})
	return n, err
}
