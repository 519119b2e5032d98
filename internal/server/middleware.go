package server

import (
	"net/http"
	"strings"

	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/auth"
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

// scope is what an API token needs to call a route: any one of its
// scopes. An interactive session (an access token) passes every scope; a
// scope with none lets no API token in.
type scope []string

// The scopes routes need; routes.go names one next to every signed-in
// route, and docs/identity.md lists them.
var (
	// needRead: GETs of the caller's own resources.
	needRead = scope{auth.ScopeRead}
	// needAllocRead: reading allocations, which the allocations scope
	// covers too.
	needAllocRead = scope{auth.ScopeRead, auth.ScopeAllocations}
	// needAlloc: acting on allocations (create, release, terminals, SSH,
	// apps), and the SSH keys and storage they use.
	needAlloc = scope{auth.ScopeAllocations}
	// needBilling: billing, reads included.
	needBilling = scope{auth.ScopeBilling}
	// needAdmin: admin routes, for admin users only.
	needAdmin = scope{auth.ScopeAdmin}
	// needSession: only an interactive session: sign-out, the password,
	// API tokens themselves (a token may not mint or revoke tokens).
	needSession = scope{}
)

// check refuses an API token holding none of s with 403
// insufficient_scope.
func (s scope) check(p reqctx.Principal) error {
	for _, sc := range s {
		if p.HasScope(sc) {
			return nil
		}
	}
	if !p.IsAPIToken() {
		return nil
	}
	if len(s) == 0 {
		return apperr.ForbiddenCode(auth.CodeInsufficientScope, "API tokens cannot call this route; sign in instead")
	}
	return apperr.ForbiddenCode(auth.CodeInsufficientScope, "this API token needs the %s scope for this route", strings.Join(s, " or "))
}

// user authenticates the caller, applies the per-user API rate limit
// (shared by the user's sessions and API tokens) and checks that an API
// token holds need. An access token is checked against its signature,
// claims and the deny-list, without the database; an API token is looked
// up in the database on every request.
func (a *App) user(need scope, h handlerFunc) http.Handler {
	return serve(func(w http.ResponseWriter, r *http.Request) error {
		token, ok := bearer(r)
		if !ok {
			return apperr.Unauthorized("", "missing bearer token")
		}
		p, err := a.Auth.AuthenticateWithin(r.Context(), token,
			auth.Quota{Prefix: "api:user:", Rate: a.Config.APIRate, Burst: a.Config.APIBurst})
		if err != nil {
			return err
		}
		if err := need.check(p); err != nil {
			return err
		}
		return h(w, r.WithContext(reqctx.WithPrincipal(r.Context(), p)))
	})
}

// admin is user plus the admin role (and, for an API token, the admin
// scope), checked before any dependency.
func (a *App) admin(h handlerFunc) http.Handler {
	return a.user(needAdmin, func(w http.ResponseWriter, r *http.Request) error {
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
