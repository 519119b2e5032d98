package server

import (
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/httpapi"
	"github.com/gpuaas/gpuaas/internal/notify"
)

// notifications serves GET /ws/notifications: the caller's live
// notifications over a websocket. The access token comes in
// `Authorization: Bearer` or, from browsers, as the second entry of
// `Sec-WebSocket-Protocol: bearer, <token>`; it is checked (deny-list
// included) before the upgrade, so a bad one gets a 401 envelope; so is the
// socket cap (429 for the user, 503 for the replica).
func (a *App) notifications(w http.ResponseWriter, r *http.Request) {
	token, ok := bearer(r)
	if !ok {
		token, ok = protocolBearer(r)
	}
	if !ok {
		httpapi.WriteError(w, r, apperr.Unauthorized("", "missing bearer token"))
		return
	}
	p, err := a.Auth.Authenticate(r.Context(), token)
	if err == nil {
		err = needRead.check(p)
	}
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	release, err := a.Sockets.Acquire(p.UserID.String(), "notifications")
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	defer release()
	var expires time.Time
	if p.ExpiresUnix > 0 {
		expires = time.Unix(p.ExpiresUnix, 0)
	}
	if err := a.Notify.Serve(w, r, p.UserID, expires); err != nil {
		httpapi.WriteError(w, r, err)
	}
}

// protocolBearer reads the token of `Sec-WebSocket-Protocol: bearer, <token>`.
func protocolBearer(r *http.Request) (string, bool) {
	var protos []string
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(h, ",") {
			protos = append(protos, strings.TrimSpace(p))
		}
	}
	if len(protos) < 2 || protos[0] != notify.Subprotocol || protos[1] == "" {
		return "", false
	}
	return protos[1], true
}

// listNotifications serves GET /api/v1/notifications: the caller's stored
// notifications, newest first.
func (a *App) listNotifications(w http.ResponseWriter, r *http.Request) error {
	var after uuid.UUID
	page, err := httpapi.ParsePageAfter(r, &after)
	if err != nil {
		return err
	}
	var unread bool
	switch v := r.URL.Query().Get("unread"); v {
	case "", "false":
	case "true":
		unread = true
	default:
		return apperr.Invalid("unread must be true or false")
	}
	out, next, err := a.Inbox.List(r.Context(), principal(r).UserID, unread, after, page.Size)
	if err != nil {
		return err
	}
	out.NextCursor = cursorOf(next)
	httpapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

// markNotificationsRead serves POST /api/v1/notifications/read.
func (a *App) markNotificationsRead(w http.ResponseWriter, r *http.Request) error {
	var req api.MarkNotificationsReadRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	var ids []uuid.UUID
	if req.Ids != nil {
		ids = *req.Ids
	}
	out, err := a.Inbox.MarkRead(r.Context(), principal(r).UserID, ids, req.All != nil && *req.All)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (a *App) getNotificationPreferences(w http.ResponseWriter, r *http.Request) error {
	p, err := a.Prefs.Get(r.Context(), principal(r).UserID)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, p)
	return nil
}

func (a *App) setNotificationPreferences(w http.ResponseWriter, r *http.Request) error {
	var req api.NotificationPreferencesRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	if len(req.EmailOptOut) > 50 {
		return apperr.Invalid("email_opt_out may name at most 50 kinds")
	}
	p, err := a.Prefs.Set(r.Context(), principal(r).UserID, req.EmailOptOut)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, p)
	return nil
}
