package server

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/apps"
	"github.com/gpuaas/gpuaas/internal/httpapi"
)

// mintAppTicket answers 201 {url, expires_at}: a one-time URL that signs
// the owner's browser in to one app of an active allocation.
func (a *App) mintAppTicket(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "allocation_id")
	if err != nil {
		return err
	}
	userID := principal(r).UserID
	alloc, err := a.Allocations.Get(r.Context(), userID, id)
	if err != nil {
		return err
	}
	port := r.PathValue("port_name")
	if alloc.Apps == nil || !slices.ContainsFunc(*alloc.Apps, func(app api.AllocationApp) bool { return app.Name == port }) {
		return apperr.NotFound("app")
	}
	if alloc.Status != api.AllocationStatusActive {
		return apperr.Conflict("invalid_state", "allocation is %s; its apps open only while it is active", alloc.Status)
	}
	ticket, expires, err := a.AppTickets.Mint(r.Context(), apps.Grant{UserID: userID, AllocationID: id, Port: port})
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpapi.WriteJSON(w, http.StatusCreated, api.AppTicket{Url: "/api/v1/apps/ticket?t=" + url.QueryEscape(ticket), ExpiresAt: expires})
	return nil
}

// redeemAppTicket spends a ticket, sets the app's cookie and sends the
// browser into the app.
func (a *App) redeemAppTicket(w http.ResponseWriter, r *http.Request) error {
	g, err := a.AppTickets.Redeem(r.Context(), r.URL.Query().Get("t"))
	if errors.Is(err, apps.ErrTicket) {
		return apperr.Unauthorized("", "this app link is invalid, expired or already used; open the app again from the console")
	}
	if err != nil {
		return err
	}
	value, expires, err := a.AppTickets.Cookie(g)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: apps.CookieName, Value: value, Path: g.Path(), Expires: expires, MaxAge: int(time.Until(expires).Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil || secureURL(a.Config.PublicURL),
	})
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, g.Path(), http.StatusSeeOther)
	return nil
}

// secureURL says whether users reach us over TLS (so cookies are Secure).
func secureURL(publicURL string) bool { return strings.HasPrefix(publicURL, "https://") }
