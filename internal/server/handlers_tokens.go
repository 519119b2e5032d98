package server

import (
	"net/http"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/auth"
	"github.com/gpuaas/gpuaas/internal/httpapi"
)

// listAPITokens answers the caller's unrevoked API tokens, without secrets.
func (a *App) listAPITokens(w http.ResponseWriter, r *http.Request) error {
	items, err := a.Auth.ListAPITokens(r.Context(), principal(r).UserID)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, api.APITokenList{Items: items})
	return nil
}

// createAPIToken answers 201 with the new token's secret, shown only here.
func (a *App) createAPIToken(w http.ResponseWriter, r *http.Request) error {
	var req api.CreateAPITokenRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	scopes := make([]string, len(req.Scopes))
	for i, s := range req.Scopes {
		scopes[i] = string(s)
	}
	t, err := a.Auth.CreateAPIToken(r.Context(), principal(r), auth.CreateAPITokenParams{
		Name: req.Name, ExpiresAt: req.ExpiresAt, Scopes: scopes,
	})
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpapi.WriteJSON(w, http.StatusCreated, t)
	return nil
}

// revokeAPIToken revokes one of the caller's tokens; 204.
func (a *App) revokeAPIToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "token_id")
	if err != nil {
		return err
	}
	if err := a.Auth.RevokeAPIToken(r.Context(), principal(r), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
