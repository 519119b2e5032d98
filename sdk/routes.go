package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
)

// Healthz asks whether the process is up.
func (c *Client) Healthz(ctx context.Context) (api.Health, error) {
	var h api.Health
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/healthz", out: &h})
	return h, err
}

// Readyz asks whether every dependency answers. When one does not, it
// returns the server's report (which check failed) with an *Error of
// status 503.
func (c *Client) Readyz(ctx context.Context) (api.Health, error) {
	resp, err := c.Do(ctx, http.MethodGet, "/readyz", nil, http.Header{"Accept": {"application/json"}})
	if err != nil {
		return api.Health{}, fmt.Errorf("GET /readyz: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusServiceUnavailable {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		var h api.Health
		if jsonErr := json.Unmarshal(body, &h); jsonErr == nil && h.Status != "" {
			if resp.StatusCode == http.StatusOK {
				return h, nil
			}
			return h, &Error{Status: resp.StatusCode, Code: "unavailable", Message: "not ready",
				CorrelationID: resp.Header.Get("X-Request-ID"),
				RetryAfter:    parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	return api.Health{}, parseError(resp)
}

// Metrics returns the Prometheus text exposition.
func (c *Client) Metrics(ctx context.Context) ([]byte, error) {
	resp, err := c.send(ctx, call{method: http.MethodGet, path: "/metrics"})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// JWKS returns the public keys that verify access tokens.
func (c *Client) JWKS(ctx context.Context) (api.JWKS, error) {
	var k api.JWKS
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/.well-known/jwks.json", out: &k})
	return k, err
}

// Login signs in with a username and password.
func (c *Client) Login(ctx context.Context, username, password string) (api.TokenPair, error) {
	var p api.TokenPair
	err := c.doJSON(ctx, call{method: http.MethodPost, path: "/api/v1/auth/personal/login",
		in: api.LoginRequest{Username: username, Password: password}, out: &p})
	return p, err
}

// Refresh spends refreshToken for a new pair. The old token is dead after
// this call, whatever happens to the answer.
func (c *Client) Refresh(ctx context.Context, refreshToken string) (api.TokenPair, error) {
	var p api.TokenPair
	err := c.doJSON(ctx, call{method: http.MethodPost, path: "/api/v1/auth/token/refresh",
		in: api.RefreshRequest{RefreshToken: refreshToken}, out: &p})
	return p, err
}

// Logout revokes the client's access token and, when refreshToken is not
// empty, that refresh token.
func (c *Client) Logout(ctx context.Context, refreshToken string) error {
	var in any
	if refreshToken != "" {
		in = api.LogoutRequest{RefreshToken: &refreshToken}
	}
	return c.doJSON(ctx, call{method: http.MethodPost, path: "/api/v1/auth/logout", in: in, auth: true})
}

// Me returns the signed-in user.
func (c *Client) Me(ctx context.Context) (api.User, error) {
	var u api.User
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/users/me", out: &u, auth: true})
	return u, err
}

// ChangePassword changes the signed-in user's password; the server revokes
// the user's other sessions.
func (c *Client) ChangePassword(ctx context.Context, current, next string) error {
	return c.doJSON(ctx, call{method: http.MethodPost, path: "/api/v1/users/me/password",
		in: api.ChangePasswordRequest{CurrentPassword: current, NewPassword: next}, auth: true})
}

// ListSKUs returns a page of active SKUs with what is available now.
func (c *Client) ListSKUs(ctx context.Context, p api.ListSkusParams) (api.SKUList, error) {
	var l api.SKUList
	q := query{}
	q.page(p.PageSize, p.Cursor)
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/skus", query: q.values(), out: &l, auth: true})
	return l, err
}

// ListNodes returns a page of the nodes a user may see.
func (c *Client) ListNodes(ctx context.Context, p api.ListNodesParams) (api.NodeList, error) {
	var l api.NodeList
	q := query{}
	q.page(p.PageSize, p.Cursor)
	if p.Status != nil {
		q.set("status", string(*p.Status))
	}
	q.str("region", p.Region)
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/nodes", query: q.values(), out: &l, auth: true})
	return l, err
}

// AdminListNodes returns a page of every node, whatever its states.
func (c *Client) AdminListNodes(ctx context.Context, p api.AdminListNodesParams) (api.NodeList, error) {
	var l api.NodeList
	q := query{}
	q.page(p.PageSize, p.Cursor)
	if p.Status != nil {
		q.set("status", string(*p.Status))
	}
	q.str("region", p.Region)
	if p.AdminState != nil {
		q.set("admin_state", string(*p.AdminState))
	}
	q.str("q", p.Q)
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/admin/nodes", query: q.values(), out: &l, auth: true})
	return l, err
}

// AdminCreateNode registers a node; its GPUs come from its agent.
func (c *Client) AdminCreateNode(ctx context.Context, req api.CreateNodeRequest) (api.Node, error) {
	var n api.Node
	err := c.doJSON(ctx, call{method: http.MethodPost, path: "/api/v1/admin/nodes", in: req, out: &n,
		auth: true, want: http.StatusCreated})
	return n, err
}

// AdminGetNode returns one node with its GPUs, their health and its
// agent's version, connection time and version drift.
func (c *Client) AdminGetNode(ctx context.Context, id uuid.UUID) (api.Node, error) {
	var n api.Node
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/admin/nodes/" + url.PathEscape(id.String()),
		out: &n, auth: true})
	return n, err
}

// AdminDisableNode sets a node's admin_state to disabled.
func (c *Client) AdminDisableNode(ctx context.Context, id uuid.UUID) (api.Node, error) {
	var n api.Node
	err := c.doJSON(ctx, call{method: http.MethodDelete, path: "/api/v1/admin/nodes/" + url.PathEscape(id.String()),
		out: &n, auth: true})
	return n, err
}

// AdminEnableNode sets a disabled node's admin_state back to active.
func (c *Client) AdminEnableNode(ctx context.Context, id uuid.UUID) (api.Node, error) {
	var n api.Node
	err := c.doJSON(ctx, call{method: http.MethodPost, path: "/api/v1/admin/nodes/" + url.PathEscape(id.String()) + "/enable",
		out: &n, auth: true})
	return n, err
}

// AdminListUsers returns a page of users, newest first.
func (c *Client) AdminListUsers(ctx context.Context, p api.AdminListUsersParams) (api.UserList, error) {
	var l api.UserList
	q := query{}
	q.page(p.PageSize, p.Cursor)
	q.str("q", p.Q)
	if p.Role != nil {
		q.set("role", string(*p.Role))
	}
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/admin/users", query: q.values(), out: &l, auth: true})
	return l, err
}

// AdminGetUserBalance is a user's balance as that user sees it.
func (c *Client) AdminGetUserBalance(ctx context.Context, userID uuid.UUID) (api.BalanceResponse, error) {
	var b api.BalanceResponse
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/admin/users/" + userID.String() + "/balance", out: &b, auth: true})
	return b, err
}

// AdminCreateUser creates a user who can sign in with req.Password.
func (c *Client) AdminCreateUser(ctx context.Context, req api.CreateUserRequest) (api.User, error) {
	var u api.User
	err := c.doJSON(ctx, call{method: http.MethodPost, path: "/api/v1/admin/users", in: req, out: &u,
		auth: true, want: http.StatusCreated})
	return u, err
}

// AdminGetUser returns one user.
func (c *Client) AdminGetUser(ctx context.Context, id uuid.UUID) (api.User, error) {
	var u api.User
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/admin/users/" + url.PathEscape(id.String()),
		out: &u, auth: true})
	return u, err
}

// AdminUpdateUser changes a user's role, email or both; a changed role ends every
// session of the user.
func (c *Client) AdminUpdateUser(ctx context.Context, id uuid.UUID, req api.UpdateUserRequest) (api.User, error) {
	var u api.User
	err := c.doJSON(ctx, call{method: http.MethodPatch, path: "/api/v1/admin/users/" + url.PathEscape(id.String()),
		in: req, out: &u, auth: true})
	return u, err
}

// AdminListAuditLogs returns a page of the audit log, newest first, with
// each action's readable name and the total under the filters.
func (c *Client) AdminListAuditLogs(ctx context.Context, p api.AdminListAuditLogsParams) (api.AuditLogList, error) {
	var l api.AuditLogList
	q := query{}
	q.page(p.PageSize, p.Cursor)
	q.audit(p.ActorUserId, p.Action, p.TargetId, p.Since, p.Until)
	q.str("target_type", p.TargetType)
	q.str("action_prefix", p.ActionPrefix)
	if p.Category != nil {
		q.set("category", string(*p.Category))
	}
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/admin/audit-logs", query: q.values(), out: &l, auth: true})
	return l, err
}

// AdminExportAuditLogs streams the audit log as CSV into w and returns how
// many bytes it wrote.
func (c *Client) AdminExportAuditLogs(ctx context.Context, p api.AdminExportAuditLogsParams, w io.Writer) (int64, error) {
	q := query{}
	q.audit(p.ActorUserId, p.Action, p.TargetId, p.Since, p.Until)
	q.str("target_type", p.TargetType)
	q.str("action_prefix", p.ActionPrefix)
	if p.Category != nil {
		q.set("category", string(*p.Category))
	}
	resp, err := c.send(ctx, call{method: http.MethodGet, path: "/api/v1/admin/audit-logs/export", query: q.values(), auth: true})
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("read audit export: %w", err)
	}
	return n, nil
}

// query builds a query string from the optional fields of a params struct.
type query url.Values

func (q query) set(k, v string) { url.Values(q).Set(k, v) }

func (q query) str(k string, v *string) {
	if v != nil {
		q.set(k, *v)
	}
}

func (q query) page(size *int, cursor *string) {
	if size != nil {
		q.set("page_size", strconv.Itoa(*size))
	}
	q.str("cursor", cursor)
}

func (q query) audit(actor *uuid.UUID, action, target *string, since, until *time.Time) {
	if actor != nil {
		q.set("actor_user_id", actor.String())
	}
	q.str("action", action)
	q.str("target_id", target)
	if since != nil {
		q.set("since", since.Format(time.RFC3339Nano))
	}
	if until != nil {
		q.set("until", until.Format(time.RFC3339Nano))
	}
}

func (q query) values() url.Values { return url.Values(q) }

// AllocationMetrics returns the GPU telemetry of one of the caller's
// allocations; since and step are as the contract has them ("" for the
// defaults).
func (c *Client) AllocationMetrics(ctx context.Context, id uuid.UUID, since, step string) (api.GPUMetrics, error) {
	var m api.GPUMetrics
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/allocations/" + url.PathEscape(id.String()) + "/metrics",
		query: metricsQuery(since, step), out: &m, auth: true})
	return m, err
}

// AdminNodeMetrics returns the GPU telemetry of every GPU of a node.
func (c *Client) AdminNodeMetrics(ctx context.Context, id uuid.UUID, since, step string) (api.GPUMetrics, error) {
	var m api.GPUMetrics
	err := c.doJSON(ctx, call{method: http.MethodGet, path: "/api/v1/admin/nodes/" + url.PathEscape(id.String()) + "/metrics",
		query: metricsQuery(since, step), out: &m, auth: true})
	return m, err
}

func metricsQuery(since, step string) url.Values {
	q := url.Values{}
	if since != "" {
		q.Set("since", since)
	}
	if step != "" {
		q.Set("step", step)
	}
	return q
}
