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
	name := ""
	if req.Name != nil {
		name = *req.Name
	}
	wl, err := a.Launchables.Resolve(req.Workload)
	if err != nil {
		return err
	}
	create := allocation.CreateRequest{SKUID: req.SkuId, Name: name, SSHKeyIDs: req.SshKeyIds}
	if req.Team != nil {
		if create.Account, err = a.Teams.Account(r.Context(), principal(r).UserID, *req.Team); err != nil {
			return err
		}
	}
	if wl.Runtime == allocation.RuntimeDocker {
		create.Container = &allocation.Spec{Launchable: wl.Launchable, Image: wl.Image, Command: wl.Command, Env: wl.Env,
			SecretEnv: wl.SecretEnv, Ports: wl.Ports, Params: wl.Params}
	}
	return a.idempotent(w, r, "POST /api/v1/allocations", raw, http.StatusAccepted, func(tx *store.Store) (any, error) {
		return a.Allocations.CreateIn(r.Context(), tx, principal(r).UserID, create)
	})
}

func (a *App) listLaunchables(w http.ResponseWriter, r *http.Request) error {
	httpapi.WriteJSON(w, http.StatusOK, a.Launchables.List())
	return nil
}

// idempotent runs fn under the request's Idempotency-Key (idempotency.Run)
// and writes fn's result as JSON with status, or, for a retry, the response
// stored by the first try, byte for byte.
func (a *App) idempotent(w http.ResponseWriter, r *http.Request, route string, raw []byte, status int,
	fn func(tx *store.Store) (any, error)) error {
	resp, err := idempotency.Run(r.Context(), a.Store, idempotency.Request{
		UserID: principal(r).UserID, Key: r.Header.Get(idempotency.Header), Route: route, Body: raw,
	}, func(tx *store.Store) (int, []byte, error) {
		v, err := fn(tx)
		if err != nil {
			return 0, nil, err
		}
		body, err := json.Marshal(v)
		return status, append(body, '\n'), err
	})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(resp.Body)))
	if resp.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.WriteHeader(resp.Status)
	w.Write(resp.Body) //nolint:errcheck // the client went away
	return nil
}

func (a *App) listAllocations(w http.ResponseWriter, r *http.Request) error {
	acct, err := a.account(r)
	if err != nil {
		return err
	}
	return a.allocations(w, r, allocation.Filter{UserID: acct})
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
	page, after, err := httpapi.ParsePageFrom[allocation.Cursor](r)
	if err != nil {
		return err
	}
	f.Status = r.URL.Query().Get("status")
	items, next, err := a.Allocations.List(r.Context(), f, after, page.Size)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, api.AllocationList{Items: items, NextCursor: cursorOf(next)})
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
