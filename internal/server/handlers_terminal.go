package server

import (
	"net/http"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/httpapi"
)

// mintTerminalToken answers 201 {token, expires_at} for the owner of an
// active allocation. Get scopes by owner, so another user's allocation is
// 404 like a missing one.
func (a *App) mintTerminalToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "allocation_id")
	if err != nil {
		return err
	}
	userID := principal(r).UserID
	alloc, err := a.Allocations.Get(r.Context(), userID, id)
	if err != nil {
		return err
	}
	if alloc.Status != api.AllocationStatusActive {
		return apperr.Conflict("invalid_state", "allocation is %s; a terminal opens only while it is active", alloc.Status)
	}
	token, expires, err := a.Terminal.Mint(r.Context(), id, userID)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpapi.WriteJSON(w, http.StatusCreated, api.TerminalToken{Token: token, ExpiresAt: expires})
	return nil
}
