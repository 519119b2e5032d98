package server

import (
	"log/slog"
	"net/http"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/httpapi"
	"github.com/gpuaas/gpuaas/internal/reqctx"
)

// Redeeming a reset link is public: a light per-address limit on top of
// the token's 256 bits.
const (
	resetRate  = 1.0 // per second
	resetBurst = 10
)

func (a *App) adminGetAllocation(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "allocation_id")
	if err != nil {
		return err
	}
	alloc, err := a.Allocations.AdminGet(r.Context(), id)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, alloc)
	return nil
}

func (a *App) adminSuspendUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "user_id")
	if err != nil {
		return err
	}
	var req api.SuspendUserRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	release := req.ReleaseAllocations != nil && *req.ReleaseAllocations
	u, err := a.Users.Suspend(r.Context(), principal(r).UserID, id, req.Reason, release, a.Auth, a.Allocations)
	if err != nil {
		return err
	}
	a.endSockets(r, id, "account suspended")
	httpapi.WriteJSON(w, http.StatusOK, u)
	return nil
}

func (a *App) adminUnsuspendUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "user_id")
	if err != nil {
		return err
	}
	u, err := a.Users.Unsuspend(r.Context(), principal(r).UserID, id, a.Auth)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, u)
	return nil
}

func (a *App) adminDeleteUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "user_id")
	if err != nil {
		return err
	}
	if err := a.Users.Delete(r.Context(), principal(r).UserID, id, a.Auth); err != nil {
		return err
	}
	a.endSockets(r, id, "account deleted")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *App) adminIssuePasswordReset(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "user_id")
	if err != nil {
		return err
	}
	link, err := a.Auth.IssuePasswordReset(r.Context(), principal(r).UserID, id)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpapi.WriteJSON(w, http.StatusCreated, link)
	return nil
}

// redeemPasswordReset serves POST /api/v1/auth/password-reset (public).
func (a *App) redeemPasswordReset(w http.ResponseWriter, r *http.Request) error {
	if ip := reqctx.ClientIP(r.Context()); ip != "" {
		if err := a.Limiter.Take(r.Context(), "pwreset:ip:"+ip, resetRate, resetBurst); err != nil {
			return err
		}
	}
	var req api.RedeemPasswordResetRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	if err := a.Auth.RedeemPasswordReset(r.Context(), req.Token, req.NewPassword); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// endSockets closes the user's notification websockets on every replica
// after a suspension or deletion has committed; their tokens are refused
// already, so a failure here is only logged.
func (a *App) endSockets(r *http.Request, user uuid.UUID, why string) {
	if a.Notify == nil {
		return
	}
	if err := a.Notify.EndUser(user, why); err != nil {
		slog.WarnContext(r.Context(), "close notification sockets", "user", user, "err", err)
	}
}
