package server

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/httpapi"
	"github.com/gpuaas/gpuaas/internal/oidc"
)

// oidcCookie binds a sign-in in progress to the browser that started it.
// SameSite=Lax: it must come back on the provider's top-level redirect.
const (
	oidcCookie     = "gpuaas_oidc"
	oidcCookiePath = "/api/v1/auth/oidc/"
)

func (a *App) authProviders(w http.ResponseWriter, _ *http.Request) error {
	pl := api.AuthProvidersPersonalLoginAll
	if a.Config.OIDC.PersonalLogin == config.PersonalLoginAdmins {
		pl = api.AuthProvidersPersonalLoginAdmins
	}
	httpapi.WriteJSON(w, http.StatusOK, api.AuthProviders{Providers: a.OIDC.Providers(), PersonalLogin: pl})
	return nil
}

// oidcAuthorize sends the browser to the provider. Its failures are
// redirects to the login page, as the browser navigated here.
func (a *App) oidcAuthorize(w http.ResponseWriter, r *http.Request) {
	to, binding, err := a.OIDC.Authorize(r.Context(), r.PathValue("provider"), r.URL.Query().Get("next"))
	if err != nil {
		a.oidcFailed(w, r, err)
		return
	}
	a.writeOIDCCookie(w, r, binding, int(oidc.StateTTL.Seconds()))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, to, http.StatusFound)
}

// oidcCallback finishes the sign-in and lands on next with the session
// cookie set, or on /login?error=<code> with no session.
func (a *App) oidcCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cp := oidc.CallbackParams{State: q.Get("state"), Code: q.Get("code"), Error: q.Get("error")}
	if c, err := r.Cookie(oidcCookie); err == nil {
		cp.Binding = c.Value
	}
	// The binding is spent with the state, whatever the outcome.
	a.writeOIDCCookie(w, r, "", -1)
	res, err := a.OIDC.Callback(r.Context(), r.PathValue("provider"), cp)
	if err != nil {
		a.oidcFailed(w, r, err)
		return
	}
	a.setRefreshCookie(w, r, res.Pair.RefreshToken)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, oidc.SafeNext(res.Next), http.StatusFound)
}

// oidcFailed logs why (never a token) and sends the browser to the login
// page with a code it can explain.
func (a *App) oidcFailed(w http.ResponseWriter, r *http.Request, err error) {
	code := oidc.CodeServerError
	var oe *oidc.Error
	if errors.As(err, &oe) {
		code = oe.Code
	}
	lvl := slog.LevelWarn
	if code == oidc.CodeServerError {
		lvl = slog.LevelError
	}
	slog.Log(r.Context(), lvl, "oidc sign-in failed", "provider", r.PathValue("provider"), "code", code, "err", err)
	// Audited like a failed password sign-in (no user is known, and the
	// provider name is bounded: an unknown one is recorded as such).
	provider := r.PathValue("provider")
	if code == oidc.CodeUnknownProvider {
		provider = "(unknown)"
	}
	if aerr := audit.Record(r.Context(), a.Store.Queries, audit.Entry{
		Action: audit.ActionLoginFailed, TargetType: "user",
		Metadata: map[string]any{"method": "oidc", "provider": provider, "reason": code},
	}); aerr != nil {
		slog.Warn("audit oidc sign-in failure", "err", aerr)
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/login?error="+url.QueryEscape(code), http.StatusFound)
}

func (a *App) writeOIDCCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: oidcCookie, Value: value, Path: oidcCookiePath, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: r.TLS != nil || secureURL(a.Config.PublicURL),
	})
}
