package sdk

import (
	"context"
	"net/http"
	"net/url"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
)

// AdminIssueJoinToken makes a one-time join token for a node's agent.
func (c *Client) AdminIssueJoinToken(ctx context.Context, node uuid.UUID) (api.JoinToken, error) {
	var t api.JoinToken
	err := c.doJSON(ctx, call{method: http.MethodPost, path: "/api/v1/admin/nodes/" + url.PathEscape(node.String()) + "/join-token",
		out: &t, auth: true, want: http.StatusCreated})
	return t, err
}

// AdminRevokeNodeCredentials revokes a node agent's credentials.
func (c *Client) AdminRevokeNodeCredentials(ctx context.Context, node uuid.UUID) (api.RevokedCredentials, error) {
	var r api.RevokedCredentials
	err := c.doJSON(ctx, call{method: http.MethodPost, path: "/api/v1/admin/nodes/" + url.PathEscape(node.String()) + "/revoke-credentials",
		out: &r, auth: true})
	return r, err
}

// AgentJoin trades a join token for the node's credential; it needs no
// signed-in user.
func (c *Client) AgentJoin(ctx context.Context, joinToken string) (api.JoinResponse, error) {
	var j api.JoinResponse
	err := c.doJSON(ctx, call{method: http.MethodPost, path: "/api/v1/agent/join", in: api.JoinRequest{JoinToken: joinToken}, out: &j})
	return j, err
}

// AdminProbeNode asks the node's agent for a fresh report and returns the node.
func (c *Client) AdminProbeNode(ctx context.Context, node uuid.UUID) (api.Node, error) {
	var n api.Node
	err := c.doJSON(ctx, call{method: http.MethodPost, path: "/api/v1/admin/nodes/" + url.PathEscape(node.String()) + "/probe",
		out: &n, auth: true})
	return n, err
}
