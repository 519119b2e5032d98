package server

import (
	"errors"
	"net/http"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agentgw"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/httpapi"
	"github.com/gpuaas/gpuaas/internal/nodeauth"
	"github.com/gpuaas/gpuaas/internal/reqctx"
)

func (a *App) adminIssueJoinToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "node_id")
	if err != nil {
		return err
	}
	jt, err := a.NodeAuth.IssueJoinToken(r.Context(), principal(r).UserID, id, nodeauth.DefaultJoinTTL)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpapi.WriteJSON(w, http.StatusCreated, api.JoinToken{NodeId: jt.NodeID, Token: jt.Token, ExpiresAt: jt.ExpiresAt})
	return nil
}

func (a *App) adminRevokeNodeCredentials(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "node_id")
	if err != nil {
		return err
	}
	n, err := a.NodeAuth.Revoke(r.Context(), principal(r).UserID, id)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, api.RevokedCredentials{Revoked: n})
	return nil
}

// agentJoin is public: the join token is the credential. Guessing tokens is
// bounded by the per-address limit shared with sign-in attempts.
func (a *App) agentJoin(w http.ResponseWriter, r *http.Request) error {
	if err := a.Limiter.Take(r.Context(), "join:ip:"+reqctx.ClientIP(r.Context()),
		float64(a.Config.LoginIPAttempts)/a.Config.LoginIPWindow.Seconds(), a.Config.LoginIPAttempts); err != nil {
		return err
	}
	var req api.JoinRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	if req.JoinToken == "" {
		return apperr.Invalid("join_token is required")
	}
	nodeID, cred, err := a.NodeAuth.Join(r.Context(), req.JoinToken)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpapi.WriteJSON(w, http.StatusOK, api.JoinResponse{NodeId: nodeID, Credential: cred})
	return nil
}

// adminProbeNode asks the node's agent for a fresh heartbeat over its own
// connection and answers the node as it is now: offline when no agent
// answered within a few seconds. The server never dials the node.
func (a *App) adminProbeNode(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "node_id")
	if err != nil {
		return err
	}
	if _, err := a.Inventory.GetNode(r.Context(), id); err != nil {
		return err
	}
	if err := a.Agents.Probe(r.Context(), id); err != nil && !errors.Is(err, agentgw.ErrNodeUnreachable) {
		return err
	}
	node, err := a.Inventory.GetNode(r.Context(), id)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, node)
	return nil
}
