package server

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/allocation"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/httpapi"
	"github.com/gpuaas/gpuaas/internal/idempotency"
	"github.com/gpuaas/gpuaas/internal/store"
)

func (a *App) createAllocation(w http.ResponseWriter, r *http.Request) error {
	var req api.CreateAllocationRequest
	raw, err := httpapi.DecodeRaw(r, &req)
	if err != nil {
		return err
	}
	p := principal(r)
	name := ""
	if req.Name != nil {
		name = *req.Name
	}
	resp, err := idempotency.Run(r.Context(), a.Store, idempotency.Request{
		UserID: p.UserID, Key: r.Header.Get(idempotency.Header), Route: "POST /api/v1/allocations", Body: raw,
	}, func(tx *store.Store) (int, []byte, error) {
		alloc, err := a.Allocations.CreateIn(r.Context(), tx, p.UserID, allocation.CreateRequest{SKUID: req.SkuId, Name: name})
		if err != nil {
			return 0, nil, err
		}
		body, err := json.Marshal(alloc)
		return http.StatusAccepted, append(body, '\n'), err
	})
	if err != nil {
		return err
	}
	writeStored(w, resp)
	return nil
}

// writeStored writes a response exactly as idempotency.Run produced or
// replayed it.
func writeStored(w http.ResponseWriter, resp idempotency.Response) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(resp.Body)))
	if resp.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.WriteHeader(resp.Status)
	w.Write(resp.Body) //nolint:errcheck // the client went away
}

func (a *App) listAllocations(w http.ResponseWriter, r *http.Request) error {
	return a.allocations(w, r, allocation.Filter{UserID: principal(r).UserID})
}

func (a *App) adminListAllocations(w http.ResponseWriter, r *http.Request) error {
	var f allocation.Filter
	for _, p := range []struct {
		name string
		dst  *uuid.UUID
	}{{"user_id", &f.UserID}, {"node_id", &f.NodeID}} {
		if s := r.URL.Query().Get(p.name); s != "" {
			id, err := uuid.Parse(s)
			if err != nil {
				return apperr.Invalid("%s must be a UUID", p.name)
			}
			*p.dst = id
		}
	}
	return a.allocations(w, r, f)
}

func (a *App) allocations(w http.ResponseWriter, r *http.Request, f allocation.Filter) error {
	var after allocation.Cursor
	page, ok, err := httpapi.ParsePageAfter(r, &after)
	if err != nil {
		return err
	}
	var afterPtr *allocation.Cursor
	if ok {
		afterPtr = &after
	}
	f.Status = r.URL.Query().Get("status")
	items, next, err := a.Allocations.List(r.Context(), f, afterPtr, page.Size)
	if err != nil {
		return err
	}
	out := api.AllocationList{Items: items}
	if next != nil {
		out.NextCursor = httpapi.EncodeCursor(next)
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (a *App) getAllocation(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "allocation_id")
	if err != nil {
		return err
	}
	alloc, err := a.Allocations.Get(r.Context(), principal(r).UserID, id)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, alloc)
	return nil
}

func (a *App) releaseAllocation(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "allocation_id")
	if err != nil {
		return err
	}
	alloc, err := a.Allocations.Release(r.Context(), principal(r).UserID, id)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusAccepted, alloc)
	return nil
}

func (a *App) adminForceRelease(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "allocation_id")
	if err != nil {
		return err
	}
	var req api.ForceReleaseRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Reason) == "" {
		return apperr.Invalid("reason is required")
	}
	alloc, err := a.Allocations.ForceRelease(r.Context(), principal(r).UserID, id, "admin: "+req.Reason)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusAccepted, alloc)
	return nil
}
