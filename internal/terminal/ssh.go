package terminal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// StreamOpener opens an agent stream of any kind (agentgw.Gateway).
type StreamOpener interface {
	OpenStream(ctx context.Context, nodeID uuid.UUID, header any) (net.Conn, error)
}

// SSHOpener is the use case behind GET /api/v1/allocations/{id}/ssh: one
// SSH connection carried over a websocket to the SSH server the node's
// agent runs for its allocations, with no port open on the node. The
// websocket carries the SSH protocol's bytes, unread here; the agent
// authenticates the client against the owner's keys that Keys returns.
type SSHOpener struct {
	Allocations Allocations
	Streams     StreamOpener
	// Keys are the authorized_keys lines of an allocation (its owner's,
	// honouring the keys it was created with).
	Keys    func(ctx context.Context, allocationID uuid.UUID) ([]string, error)
	Sockets Sockets
	Audit   *db.Queries
	// Unreachable is the error the Streams return when no agent is
	// connected (agentgw.ErrNodeUnreachable).
	Unreachable error
}

// SSHSession is an SSH stream opened to the agent, ready to be served
// once the websocket is upgraded. Close releases it if Serve never runs.
type SSHSession struct {
	o      *SSHOpener
	userID uuid.UUID
	alloc  api.Allocation
	stream net.Conn
	free   func()
}

// Open checks the caller's allocation (another user's is 404, one not
// active 409 invalid_state), holds a socket under the user's cap and opens
// the agent's SSH stream, all before the upgrade, so each failure is an
// HTTP error: no agent is 503, an agent that cannot serve SSH 409.
func (o *SSHOpener) Open(ctx context.Context, userID, allocationID uuid.UUID) (*SSHSession, error) {
	alloc, err := o.Allocations.Get(ctx, userID, allocationID)
	if err != nil {
		return nil, err
	}
	if alloc.Status != api.AllocationStatusActive {
		return nil, apperr.Conflict("invalid_state", "allocation is %s; SSH connects only while it is active", alloc.Status)
	}
	if alloc.NodeId == nil {
		return nil, apperr.Unavailable("the allocation has no node")
	}
	keys, err := o.Keys(ctx, allocationID)
	if err != nil {
		return nil, err
	}
	free, err := o.Sockets.Acquire(userID.String(), "ssh")
	if err != nil {
		return nil, err
	}
	h := agentproto.SSHHeader{Type: agentproto.StreamSSH, AllocationID: allocationID.String(), GPUUUIDs: []string{},
		AuthorizedKeys: keys}
	for _, g := range alloc.Gpus {
		h.GPUUUIDs = append(h.GPUUUIDs, g.Uuid)
	}
	stream, err := o.Streams.OpenStream(ctx, *alloc.NodeId, h)
	if err != nil {
		free()
		if errors.Is(err, o.Unreachable) {
			return nil, apperr.Unavailable("the node's agent is not connected")
		}
		return nil, fmt.Errorf("open ssh stream: %w", err)
	}
	if err := readReply(stream); err != nil {
		stream.Close()
		free()
		return nil, err
	}
	return &SSHSession{o: o, userID: userID, alloc: alloc, stream: stream, free: free}, nil
}

// readReply reads the agent's StreamReply line, within 15 s.
func readReply(stream net.Conn) error {
	_ = stream.SetReadDeadline(time.Now().Add(15 * time.Second))
	defer stream.SetReadDeadline(time.Time{})
	line, err := agentproto.ReadLine(stream)
	if errors.Is(err, io.EOF) { // an agent that predates SSH streams closes them unanswered
		return apperr.Conflict("ssh_"+agentproto.StreamUnsupported, "the node's agent does not serve SSH; update it")
	}
	if err != nil {
		return apperr.Unavailable("the node's agent did not answer the ssh stream")
	}
	var rep agentproto.StreamReply
	if err := json.Unmarshal(line, &rep); err != nil {
		return apperr.Unavailable("the node's agent answered the ssh stream with %q", line)
	}
	if rep.OK {
		return nil
	}
	if rep.Code == "" || rep.Message == "" { // an agent that predates SSH streams
		rep.Code, rep.Message = agentproto.StreamUnsupported, "the node's agent does not serve SSH; update it"
	}
	return apperr.Conflict("ssh_"+rep.Code, "%s", rep.Message)
}

// Close releases what Open held.
func (s *SSHSession) Close() {
	s.stream.Close()
	s.free()
}

// Serve copies the SSH bytes between the upgraded websocket c (binary
// messages) and the agent's stream until either side ends, and audits the
// session's start and end (with the bytes each way, never the content).
func (s *SSHSession) Serve(ctx context.Context, c *websocket.Conn) {
	defer s.Close()
	s.audit(ctx, audit.ActionSSHSessionStart, map[string]any{"node_id": s.alloc.NodeId.String()})
	ws := websocket.NetConn(ctx, c, websocket.MessageBinary)
	defer ws.Close()
	var in, out atomic.Int64
	done := make(chan string, 2)
	go func() {
		n, _ := io.Copy(s.stream, ws)
		in.Add(n)
		done <- "client_gone"
	}()
	go func() {
		n, _ := io.Copy(ws, s.stream)
		out.Add(n)
		done <- "agent_closed"
	}()
	allowed, stop := whileAllowed(ctx, s.o.Allocations, s.userID, s.alloc.Id)
	defer stop()
	var reason string
	ended := 0
	select {
	case reason = <-done:
		ended++
	case <-allowed.Done():
		reason = "access_revoked"
		if ctx.Err() != nil {
			reason = "client_gone"
		}
	}
	// One side ended (or access did): end both, and wait for their counts.
	s.stream.Close()
	ws.Close()
	for ; ended < 2; ended++ {
		<-done
	}
	s.audit(context.WithoutCancel(ctx), audit.ActionSSHSessionEnd,
		map[string]any{"bytes_in": in.Load(), "bytes_out": out.Load(), "reason": reason})
}

func (s *SSHSession) audit(ctx context.Context, action string, meta map[string]any) {
	target := s.alloc.Id.String()
	if err := audit.Record(ctx, s.o.Audit, audit.Entry{Actor: s.userID, Action: action,
		TargetType: "allocation", TargetID: target, Metadata: meta}); err != nil {
		slog.Warn("audit ssh session", "action", action, "allocation_id", target, "err", err)
	}
}
