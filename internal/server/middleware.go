package server

import (
	"net/http"
	"strings"

	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/httpapi"
	"github.com/gpuaas/gpuaas/internal/reqctx"
)

// handlerFunc is a handler that returns its error; serve renders it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func serve(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			httpapi.WriteError(w, r, err)
		}
	}
}

// bearer extracts the token of an "Authorization: Bearer ..." header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// user authenticates the caller and applies the per-user API rate limit.
// Only the token's signature, claims and the deny-list are consulted, so
// it answers without the database.
func (a *App) user(h handlerFunc) http.Handler {
	return serve(func(w http.ResponseWriter, r *http.Request) error {
		token, ok := bearer(r)
		if !ok {
			return apperr.Unauthorized("", "missing bearer token")
		}
		p, err := a.Auth.Authenticate(r.Context(), token)
		if err != nil {
			return err
		}
		if err := a.Limiter.Take(r.Context(), "api:user:"+p.UserID.String(), a.Config.APIRate, a.Config.APIBurst); err != nil {
			return err
		}
		return h(w, r.WithContext(reqctx.WithPrincipal(r.Context(), p)))
	})
}

// admin is user plus the admin role, checked before any dependency.
func (a *App) admin(h handlerFunc) http.Handler {
	return a.user(func(w http.ResponseWriter, r *http.Request) error {
		if p, _ := reqctx.PrincipalFrom(r.Context()); !p.IsAdmin() {
			return apperr.Forbidden("admin role required")
		}
		return h(w, r)
	})
}

// principal is the caller of a route wrapped by user or admin.
func principal(r *http.Request) reqctx.Principal {
	p, _ := reqctx.PrincipalFrom(r.Context())
	return p
}
