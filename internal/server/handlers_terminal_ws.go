package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agentgw"
	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/httpapi"
	"github.com/gpuaas/gpuaas/internal/terminal"
)

// terminalSession serves GET /ws/terminal/{allocation_id}: it spends the
// single-use terminal token (Authorization: Bearer, or the second entry of
// Sec-WebSocket-Protocol: bearer, <token>) before upgrading, so a bad,
// spent or mismatched token is a 401 without a websocket, and a user or
// replica at its socket cap a 429 or 503 (the token is spent by then: it
// names the user). Then it opens a
// PTY shell on the allocation's node through the agent's connection and
// proxies it. X-Gpuaas-Terminal-Pty: 0 asks for the command on pipes
// instead (stdout and stderr apart, stdin EOF passed on), as `ssh host cmd`.
func (a *App) terminalSession(w http.ResponseWriter, r *http.Request) {
	id, err := pathUUID(r, "allocation_id")
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	noPTY := false
	switch v := r.Header.Get("X-Gpuaas-Terminal-Pty"); v {
	case "", "1":
	case "0":
		noPTY = true
	default: // checked before the token is spent
		httpapi.WriteError(w, r, apperr.Invalid("header X-Gpuaas-Terminal-Pty must be 0 or 1, not %q", v))
		return
	}
	token, ok := bearer(r)
	viaProtocol := false
	if !ok {
		token, ok = protocolBearer(r)
		viaProtocol = ok
	}
	if !ok {
		httpapi.WriteError(w, r, apperr.Unauthorized("", "missing terminal token"))
		return
	}
	userID, err := a.Terminal.Consume(r.Context(), token, id)
	if errors.Is(err, terminal.ErrInvalid) || errors.Is(err, terminal.ErrMismatch) {
		httpapi.WriteError(w, r, apperr.Unauthorized("", "terminal token is invalid, expired, already used or for another allocation"))
		return
	}
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	release, err := a.Sockets.Acquire(userID.String(), "terminal")
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	defer release()
	alloc, err := a.Allocations.Get(r.Context(), userID, id)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	if alloc.Status != api.AllocationStatusActive {
		httpapi.WriteError(w, r, apperr.Conflict("invalid_state", "allocation is %s; a terminal opens only while it is active", alloc.Status))
		return
	}
	opts := &websocket.AcceptOptions{}
	if viaProtocol {
		opts.Subprotocols = []string{terminal.Subprotocol}
	}
	c, err := websocket.Accept(w, r, opts)
	if err != nil {
		return // Accept answered the request
	}
	c.SetReadLimit(agentproto.MaxFrame)
	ctx := r.Context()
	if alloc.NodeId == nil {
		terminal.SendError(ctx, c, "node_unreachable", "the allocation has no node")
		return
	}
	h := agentproto.TerminalHeader{AllocationID: id.String(), GPUUUIDs: []string{}}
	for _, g := range alloc.Gpus {
		h.GPUUUIDs = append(h.GPUUUIDs, g.Uuid)
	}
	q := r.URL.Query()
	h.Cols, h.Rows = atoiOr(q.Get("cols")), atoiOr(q.Get("rows"))
	h.Command = r.Header.Get("X-Gpuaas-Terminal-Command")
	h.NoPTY = noPTY
	stream, err := a.Agents.OpenTerminal(ctx, *alloc.NodeId, h)
	if err != nil {
		code := "node_unreachable"
		if !errors.Is(err, agentgw.ErrNodeUnreachable) {
			code = "internal"
		}
		terminal.SendError(ctx, c, code, "the node's agent is not connected")
		return
	}
	target := id.String()
	a.auditTerminal(ctx, userID, audit.ActionTerminalSessionStart, target, map[string]any{"node_id": alloc.NodeId.String()})
	proxy := a.TerminalSessions.Proxy
	if noPTY {
		proxy = a.TerminalSessions.ProxyPipes
	}
	res := proxy(ctx, c, stream)
	meta := map[string]any{"bytes_in": res.BytesIn, "bytes_out": res.BytesOut, "reason": res.Reason}
	if res.ExitCode != nil {
		meta["exit_code"] = *res.ExitCode
	}
	a.auditTerminal(context.WithoutCancel(ctx), userID, audit.ActionTerminalSessionEnd, target, meta)
}

func (a *App) auditTerminal(ctx context.Context, userID uuid.UUID, action, target string, meta map[string]any) {
	if err := audit.Record(ctx, a.Store.Queries, audit.Entry{Actor: userID, Action: action,
		TargetType: "allocation", TargetID: target, Metadata: meta}); err != nil {
		slog.Warn("audit terminal session", "action", action, "allocation_id", target, "err", err)
	}
}

// atoiOr parses a window dimension; anything else is 0 (the default size).
func atoiOr(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || n > 10000 {
		return 0
	}
	return n
}
