package server

import (
	"net/http"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/httpapi"
)

func (a *App) jwks(w http.ResponseWriter, r *http.Request) {
	set, err := a.Auth.JWKS(r.Context())
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	httpapi.WriteJSON(w, http.StatusOK, set)
}

func (a *App) login(w http.ResponseWriter, r *http.Request) error {
	var req api.LoginRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	if req.Username == "" || req.Password == "" {
		return apperr.Invalid("username and password are required")
	}
	pair, err := a.Auth.Login(r.Context(), req.Username, req.Password)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpapi.WriteJSON(w, http.StatusOK, pair)
	return nil
}

func (a *App) refresh(w http.ResponseWriter, r *http.Request) error {
	var req api.RefreshRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	if req.RefreshToken == "" {
		return apperr.Invalid("refresh_token is required")
	}
	pair, err := a.Auth.Refresh(r.Context(), req.RefreshToken)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpapi.WriteJSON(w, http.StatusOK, pair)
	return nil
}

func (a *App) logout(w http.ResponseWriter, r *http.Request) error {
	var req api.LogoutRequest
	if err := httpapi.DecodeOptional(r, &req); err != nil {
		return err
	}
	refresh := ""
	if req.RefreshToken != nil {
		refresh = *req.RefreshToken
	}
	if err := a.Auth.Logout(r.Context(), principal(r), refresh); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *App) me(w http.ResponseWriter, r *http.Request) error {
	u, err := a.Users.Get(r.Context(), principal(r).UserID)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, u)
	return nil
}

func (a *App) changePassword(w http.ResponseWriter, r *http.Request) error {
	var req api.ChangePasswordRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	if req.CurrentPassword == "" || req.NewPassword == "" {
		return apperr.Invalid("current_password and new_password are required")
	}
	if err := a.Auth.ChangePassword(r.Context(), principal(r), req.CurrentPassword, req.NewPassword); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
