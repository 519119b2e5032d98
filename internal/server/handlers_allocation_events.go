package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agentgw"
	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/allocation"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/httpapi"
)

// Logs' tail: the contract's default and bound.
const (
	defaultLogTail = 200
	maxLogTail     = 10000
)

func (a *App) allocationEvents(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "allocation_id")
	if err != nil {
		return err
	}
	page, after, err := httpapi.ParsePageFrom[allocation.EventCursor](r)
	if err != nil {
		return err
	}
	items, next, err := a.Allocations.Events(r.Context(), principal(r).UserID, id, after, page.Size)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, api.AllocationEventList{Items: items, NextCursor: cursorOf(next)})
	return nil
}

// logsQuery reads tail and follow.
func logsQuery(r *http.Request) (agentproto.LogsHeader, error) {
	h := agentproto.LogsHeader{Type: agentproto.StreamLogs, Tail: defaultLogTail}
	q := r.URL.Query()
	if s := q.Get("tail"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > maxLogTail {
			return h, apperr.Invalid("tail must be an integer from 0 to %d", maxLogTail)
		}
		h.Tail = n
	}
	if s := q.Get("follow"); s != "" {
		f, err := strconv.ParseBool(s)
		if err != nil {
			return h, apperr.Invalid("follow must be true or false")
		}
		h.Follow = f
	}
	return h, nil
}

// allocationLogs streams a container's stdout and stderr from its node's
// agent (a logs stream over the agent's connection), flushing as lines
// come, until they end or the client goes away.
func (a *App) allocationLogs(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "allocation_id")
	if err != nil {
		return err
	}
	h, err := logsQuery(r)
	if err != nil {
		return err
	}
	p := principal(r)
	nodeID, err := a.Allocations.LogsNode(r.Context(), p.UserID, id, p.IsAdmin())
	if err != nil {
		return err
	}
	h.AllocationID = id.String()
	stream, err := a.Agents.OpenStream(r.Context(), nodeID, h)
	if errors.Is(err, agentgw.ErrNodeUnreachable) {
		return allocation.NodeUnreachable()
	}
	if err != nil {
		return err
	}
	defer stream.Close()
	// A client that goes away ends the stream, and the agent's reader.
	defer context.AfterFunc(r.Context(), func() { stream.Close() })()
	line, err := agentproto.ReadLine(stream)
	if err != nil {
		return allocation.NodeUnreachable().Wrap(err)
	}
	var reply agentproto.StreamReply
	if err := json.Unmarshal(line, &reply); err != nil {
		return allocation.NodeUnreachable().Wrap(err)
	}
	if !reply.OK {
		switch reply.Code {
		case agentproto.StreamNotFound:
			return apperr.Conflict(allocation.CodeInvalidState, "the container is not on its node (not created yet, or removed)")
		case agentproto.StreamUnsupported:
			return apperr.Conflict(allocation.CodeInvalidState, "the node's agent cannot serve logs: %s", reply.Message)
		}
		return apperr.Unavailable("the node could not read the logs: %s", reply.Message)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	buf := make([]byte, 32<<10)
	for {
		n, rerr := stream.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return nil // the client went away
			}
			_ = rc.Flush()
		}
		if rerr != nil {
			if !errors.Is(rerr, io.EOF) && r.Context().Err() == nil {
				panic(http.ErrAbortHandler) // cut short: not a complete log
			}
			return nil
		}
	}
}
