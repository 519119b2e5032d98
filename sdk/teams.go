package sdk

import (
	"context"
	"net/http"
	"net/url"

	"github.com/gpuaas/gpuaas/api"
)

// ListTeams returns the teams the caller is in.
func (c *Client) ListTeams(ctx context.Context) (api.TeamList, error) {
	var l api.TeamList
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/teams", out: &l, auth: true})
	return l, err
}

// CreateTeam makes a team with the caller as its owner.
func (c *Client) CreateTeam(ctx context.Context, req api.CreateTeamRequest) (api.Team, error) {
	var t api.Team
	err := c.doJSON(ctx, call{method: http.MethodPost, path: "/api/v1/teams", in: req, out: &t, auth: true, want: http.StatusCreated})
	return t, err
}

func teamPath(slug string) string { return "/api/v1/teams/" + url.PathEscape(slug) }

// GetTeam returns one of the caller's teams with its members.
func (c *Client) GetTeam(ctx context.Context, slug string) (api.Team, error) {
	var t api.Team
	err := c.doJSON(ctx, call{method: http.MethodGet, path: teamPath(slug), out: &t, auth: true})
	return t, err
}

// UpdateTeam renames a team (owners only).
func (c *Client) UpdateTeam(ctx context.Context, slug string, req api.UpdateTeamRequest) (api.Team, error) {
	var t api.Team
	err := c.doJSON(ctx, call{method: http.MethodPatch, path: teamPath(slug), in: req, out: &t, auth: true})
	return t, err
}

// AddTeamMember adds a person to a team (owners only).
func (c *Client) AddTeamMember(ctx context.Context, slug string, req api.AddTeamMemberRequest) (api.TeamMember, error) {
	var m api.TeamMember
	err := c.doJSON(ctx, call{method: http.MethodPost, path: teamPath(slug) + "/members", in: req, out: &m, auth: true, want: http.StatusCreated})
	return m, err
}

// UpdateTeamMember changes a member's role (owners only).
func (c *Client) UpdateTeamMember(ctx context.Context, slug, username string, req api.UpdateTeamMemberRequest) (api.TeamMember, error) {
	var m api.TeamMember
	err := c.doJSON(ctx, call{method: http.MethodPatch, path: teamPath(slug) + "/members/" + url.PathEscape(username), in: req, out: &m, auth: true})
	return m, err
}

// RemoveTeamMember removes a member, or the caller themselves (leaving).
func (c *Client) RemoveTeamMember(ctx context.Context, slug, username string) error {
	return c.doJSON(ctx, call{method: http.MethodDelete, path: teamPath(slug) + "/members/" + url.PathEscape(username), auth: true, want: http.StatusNoContent})
}

// TeamBalance is a team's balance as its members see it.
func (c *Client) TeamBalance(ctx context.Context, slug string) (api.BalanceResponse, error) {
	var b api.BalanceResponse
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/billing/balance", query: url.Values{"team": {slug}}, out: &b, auth: true})
	return b, err
}

// AdminListTeams returns a page of every team.
func (c *Client) AdminListTeams(ctx context.Context, pageSize *int, cursor *string) (api.TeamList, error) {
	var l api.TeamList
	q := query{}
	q.page(pageSize, cursor)
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/admin/teams", query: q.values(), out: &l, auth: true})
	return l, err
}

// AdminTeamBalance is any team's balance.
func (c *Client) AdminTeamBalance(ctx context.Context, slug string) (api.BalanceResponse, error) {
	var b api.BalanceResponse
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/admin/teams/" + url.PathEscape(slug) + "/balance", out: &b, auth: true})
	return b, err
}

// AdminAdjustTeamBalance credits (positive) or debits (negative) a team. A
// non-empty idempotencyKey makes a retry return the first response.
func (c *Client) AdminAdjustTeamBalance(ctx context.Context, slug string, req api.AdjustBalanceRequest, idempotencyKey string) (api.BalanceResponse, error) {
	var b api.BalanceResponse
	cl := call{method: http.MethodPost, path: "/api/v1/admin/teams/" + url.PathEscape(slug) + "/balance", in: req, out: &b, auth: true}
	if idempotencyKey != "" {
		cl.header = http.Header{"Idempotency-Key": {idempotencyKey}}
	}
	err := c.doJSON(ctx, cl)
	return b, err
}
