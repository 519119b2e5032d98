package server

import (
	"mime"
	"net/http"
	"time"

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
	a.setRefreshCookie(w, r, pair.RefreshToken)
	w.Header().Set("Cache-Control", "no-store")
	httpapi.WriteJSON(w, http.StatusOK, pair)
	return nil
}

// refresh takes the token from the body (CLI, SDK) or, when the body has
// none, from the console's gpuaas_refresh cookie; the body wins.
func (a *App) refresh(w http.ResponseWriter, r *http.Request) error {
	var req api.RefreshRequest
	if err := httpapi.DecodeOptional(r, &req); err != nil {
		return err
	}
	token := req.RefreshToken
	if token == "" {
		c, err := r.Cookie(refreshCookie)
		if err != nil || c.Value == "" {
			return apperr.Invalid("refresh_token is required (in the body, or the %s cookie)", refreshCookie)
		}
		// CSRF: the cookie is SameSite=Strict, and a cross-site page cannot
		// send application/json without a CORS preflight, which is refused.
		if !isJSON(r.Header.Get("Content-Type")) {
			return apperr.Invalid("Content-Type must be application/json")
		}
		token = c.Value
	}
	pair, err := a.Auth.Refresh(r.Context(), token)
	if err != nil {
		// A token that is no good stays no good (a suspended account's
		// neither): drop the cookie so the console goes to its login page.
		// A 503 keeps it for a retry.
		if apperr.IsKind(err, apperr.KindUnauthorized) || apperr.IsKind(err, apperr.KindForbidden) {
			a.clearRefreshCookie(w, r)
		}
		return err
	}
	a.setRefreshCookie(w, r, pair.RefreshToken)
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
	p := principal(r)
	if err := a.Auth.Logout(r.Context(), p, refresh); err != nil {
		return err
	}
	// Logout revokes the access token's whole session (its refresh family),
	// so the cookie's token is dead too; the browser may forget it.
	a.clearRefreshCookie(w, r)
	if end := a.OIDC.EndSessionURL(r.Context(), p.SessionID, a.Config.PublicURL+"/login"); end != "" {
		httpapi.WriteJSON(w, http.StatusOK, api.LogoutResult{EndSessionUrl: end})
		return nil
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

// The console keeps its refresh token in an httpOnly cookie that only the
// refresh route ever receives (see docs/web.md for why); the JSON bodies
// still carry the pair for the CLI and the SDK.
const (
	refreshCookie     = "gpuaas_refresh"
	refreshCookiePath = "/api/v1/auth/token/refresh"
)

func (a *App) setRefreshCookie(w http.ResponseWriter, r *http.Request, token string) {
	a.writeRefreshCookie(w, r, token, int(a.Config.RefreshTokenTTL/time.Second))
}

func (a *App) clearRefreshCookie(w http.ResponseWriter, r *http.Request) {
	a.writeRefreshCookie(w, r, "", -1) // Max-Age=0: delete now
}

// writeRefreshCookie: the cookie is Secure when this connection is TLS or
// when users reach the platform over https (--public-url), as behind a proxy
// that terminates TLS. X-Forwarded-Proto is not trusted; X-Forwarded-For is
// read only for the client address, behind --trusted-proxies (see
// httpapi.ClientIP).
func (a *App) writeRefreshCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: refreshCookie, Value: value, Path: refreshCookiePath, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil || secureURL(a.Config.PublicURL),
	})
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}
