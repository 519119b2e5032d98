package terminal

import (
	"context"
	"errors"
	"log/slog"
	"net"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// What opening a session needs from the rest of the platform, as
// interfaces so this package imports none of them.
type (
	// Allocations reads the caller's own allocation (another user's is
	// not found).
	Allocations interface {
		Get(ctx context.Context, userID, id uuid.UUID) (api.Allocation, error)
	}
	// Streams opens a terminal stream to a node's agent; ErrUnreachable
	// in its chain means no agent is connected.
	Streams interface {
		OpenTerminal(ctx context.Context, nodeID uuid.UUID, h agentproto.TerminalHeader) (net.Conn, error)
	}
	// Sockets caps a user's open websockets.
	Sockets interface {
		Acquire(key, kind string) (release func(), err error)
	}
)

// Opener is the use case behind GET /ws/terminal/{allocation_id}: spend
// the single-use token, hold a socket under the user's cap, check the
// allocation is active, then (once the HTTP layer has upgraded) open the
// node's stream, proxy it, and audit the session's start and end.
type Opener struct {
	Tokens      *Tokens
	Sessions    *Sessions
	Allocations Allocations
	Streams     Streams
	Sockets     Sockets
	Audit       *db.Queries
	// Unreachable is the error the Streams return when no agent is
	// connected (agentgw.ErrNodeUnreachable).
	Unreachable error
}

// Request is what the client asked for.
type Request struct {
	AllocationID uuid.UUID
	Token        string
	Cols, Rows   int
	Command      string // empty: an interactive shell
	NoPTY        bool   // pipes instead of a PTY, as `ssh host cmd`
}

// Session is an accepted request, ready to be served once upgraded. Its
// Close releases the socket it holds.
type Session struct {
	o      *Opener
	req    Request
	userID uuid.UUID
	alloc  api.Allocation
	free   func()
}

// Open checks everything that is answered before the websocket upgrade,
// as HTTP errors: a bad, spent or mismatched token is 401, a user or
// replica at its socket cap 429 or 503 (the token is spent by then: it
// names the user), an allocation not the caller's 404, and one not active
// 409 invalid_state.
func (o *Opener) Open(ctx context.Context, req Request) (*Session, error) {
	userID, err := o.Tokens.Consume(ctx, req.Token, req.AllocationID)
	if errors.Is(err, ErrInvalid) || errors.Is(err, ErrMismatch) {
		return nil, apperr.Unauthorized("", "terminal token is invalid, expired, already used or for another allocation")
	}
	if err != nil {
		return nil, err
	}
	free, err := o.Sockets.Acquire(userID.String(), "terminal")
	if err != nil {
		return nil, err
	}
	alloc, err := o.Allocations.Get(ctx, userID, req.AllocationID)
	if err == nil && alloc.Status != api.AllocationStatusActive {
		err = apperr.Conflict("invalid_state", "allocation is %s; a terminal opens only while it is active", alloc.Status)
	}
	if err != nil {
		free()
		return nil, err
	}
	return &Session{o: o, req: req, userID: userID, alloc: alloc, free: free}, nil
}

// Close releases the session's socket under the cap.
func (s *Session) Close() { s.free() }

// Serve runs the session on the upgraded websocket c until either side
// ends it. Failures from here on are session_error frames, not HTTP.
func (s *Session) Serve(ctx context.Context, c *websocket.Conn) {
	c.SetReadLimit(agentproto.MaxFrame)
	if s.alloc.NodeId == nil {
		SendError(ctx, c, "node_unreachable", "the allocation has no node")
		return
	}
	h := agentproto.TerminalHeader{AllocationID: s.req.AllocationID.String(), GPUUUIDs: []string{},
		Cols: s.req.Cols, Rows: s.req.Rows, Command: s.req.Command, NoPTY: s.req.NoPTY}
	for _, g := range s.alloc.Gpus {
		h.GPUUUIDs = append(h.GPUUUIDs, g.Uuid)
	}
	stream, err := s.o.Streams.OpenTerminal(ctx, *s.alloc.NodeId, h)
	if err != nil {
		code := "node_unreachable"
		if !errors.Is(err, s.o.Unreachable) {
			code = "internal"
		}
		SendError(ctx, c, code, "the node's agent is not connected")
		return
	}
	s.audit(ctx, audit.ActionTerminalSessionStart, map[string]any{"node_id": s.alloc.NodeId.String()})
	proxy := s.o.Sessions.Proxy
	if s.req.NoPTY {
		proxy = s.o.Sessions.ProxyPipes
	}
	allowed, stop := whileAllowed(ctx, s.o.Allocations, s.userID, s.alloc.Id)
	res := proxy(allowed, c, stream)
	stop()
	meta := map[string]any{"bytes_in": res.BytesIn, "bytes_out": res.BytesOut, "reason": res.Reason}
	if res.ExitCode != nil {
		meta["exit_code"] = *res.ExitCode
	}
	// Written even when the request's context has ended (a shutdown ends
	// sessions before the pool closes).
	s.audit(context.WithoutCancel(ctx), audit.ActionTerminalSessionEnd, meta)
}

func (s *Session) audit(ctx context.Context, action string, meta map[string]any) {
	target := s.req.AllocationID.String()
	if err := audit.Record(ctx, s.o.Audit, audit.Entry{Actor: s.userID, Action: action,
		TargetType: "allocation", TargetID: target, Metadata: meta}); err != nil {
		slog.Warn("audit terminal session", "action", action, "allocation_id", target, "err", err)
	}
}
