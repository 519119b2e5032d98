package server

import (
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/httpapi"
	"github.com/gpuaas/gpuaas/internal/overview"
	"github.com/gpuaas/gpuaas/internal/store/db"
	"github.com/gpuaas/gpuaas/internal/users"
)

func (a *App) adminListUsers(w http.ResponseWriter, r *http.Request) error {
	page, after, err := httpapi.ParsePageFrom[users.Cursor](r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := users.ListFilter{Search: q.Get("q"), Role: q.Get("role")}
	items, next, err := a.Users.List(r.Context(), f, after, page.Size)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, api.UserList{Items: items, NextCursor: cursorOf(next)})
	return nil
}

func (a *App) adminCreateUser(w http.ResponseWriter, r *http.Request) error {
	var req api.CreateUserRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	u, err := a.Users.Create(r.Context(), principal(r).UserID, users.CreateParams{
		Username: req.Username, Email: req.Email, Password: req.Password, Role: string(req.Role),
	})
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, u)
	return nil
}

func (a *App) adminUpdateUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "user_id")
	if err != nil {
		return err
	}
	var req api.UpdateUserRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	p := users.UpdateParams{Email: req.Email}
	if req.Role != nil {
		role := string(*req.Role)
		p.Role = &role
	}
	u, err := a.Users.Update(r.Context(), principal(r).UserID, id, p, a.Auth)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, u)
	return nil
}

func (a *App) adminGetUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "user_id")
	if err != nil {
		return err
	}
	u, err := a.Users.Get(r.Context(), id)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, u)
	return nil
}

func (a *App) adminListAuditLogs(w http.ResponseWriter, r *http.Request) error {
	f, err := auditFilter(r)
	if err != nil {
		return err
	}
	var after int64
	page, err := httpapi.ParsePageAfter(r, &after)
	if err != nil {
		return err
	}
	items, next, err := a.Audit.List(r.Context(), f, after, page.Size)
	if err != nil {
		return err
	}
	total, err := a.Audit.Count(r.Context(), f)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, api.AuditLogList{Items: items, NextCursor: cursorOf(next), Total: total})
	return nil
}

func (a *App) adminListAuditActions(w http.ResponseWriter, _ *http.Request) error {
	out := api.AuditActionList{Items: []api.AuditActionInfo{}}
	for _, e := range audit.Catalog() {
		out.Items = append(out.Items, api.AuditActionInfo{Action: e.Action, Label: e.Label, Category: e.Category, CategoryLabel: e.CategoryLabel})
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (a *App) adminExportAuditLogs(w http.ResponseWriter, r *http.Request) error {
	f, err := auditFilter(r)
	if err != nil {
		return err
	}
	httpapi.Stream(w, r, "text/csv; charset=utf-8", "audit-logs.csv", func(sw *httpapi.StreamWriter) error {
		return a.Audit.Export(r.Context(), f, sw, sw.Flush)
	})
	return nil
}

func auditFilter(r *http.Request) (audit.Filter, error) {
	q := r.URL.Query()
	f := audit.Filter{Action: q.Get("action"), ActionPrefix: q.Get("action_prefix"), Category: q.Get("category"),
		TargetType: q.Get("target_type"), TargetID: q.Get("target_id")}
	if err := f.Validate(); err != nil {
		return f, err
	}
	if s := q.Get("actor_user_id"); s != "" {
		id, err := uuid.Parse(s)
		if err != nil {
			return f, apperr.Invalid("actor_user_id must be a UUID")
		}
		f.Actor = id
	}
	var err error
	f.Since, f.Until, err = timeRange(q)
	return f, err
}

// timeRange reads the since (inclusive) and until (exclusive) filters.
func timeRange(q url.Values) (since, until *time.Time, err error) {
	for name, dst := range map[string]**time.Time{"since": &since, "until": &until} {
		if s := q.Get(name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return nil, nil, apperr.Invalid("%s must be an RFC 3339 time such as 2026-01-02T15:04:05Z", name)
			}
			*dst = &t
		}
	}
	return since, until, nil
}

// pathUUID parses a path wildcard that must be a UUID; anything else is 400.
func pathUUID(r *http.Request, name string) (uuid.UUID, error) {
	id, err := uuid.Parse(r.PathValue(name))
	if err != nil {
		return uuid.Nil, apperr.Invalid("%s must be a UUID", name)
	}
	return id, nil
}

func (a *App) adminOverview(w http.ResponseWriter, r *http.Request) error {
	o, err := overview.Get(r.Context(), a.Store, time.Now())
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, o)
	return nil
}

func (a *App) adminListDeadLetters(w http.ResponseWriter, r *http.Request) error {
	var after int64
	page, err := httpapi.ParsePageAfter(r, &after)
	if err != nil {
		return err
	}
	p := db.ListDeadLettersParams{PageLimit: int32(page.Size + 1)}
	if after > 0 {
		p.CursorID = &after
	}
	rows, err := a.Store.ListDeadLetters(r.Context(), p)
	if err != nil {
		return err
	}
	out := api.DeadLetterList{Items: []api.DeadLetter{}}
	if len(rows) > page.Size {
		rows = rows[:page.Size]
		out.NextCursor = httpapi.EncodeCursor(rows[len(rows)-1].ID)
	}
	for _, d := range rows {
		out.Items = append(out.Items, api.DeadLetter{Id: d.ID, Consumer: d.Consumer, EventId: d.EventID,
			Subject: d.Subject, Error: d.Error, Deliveries: int(d.Deliveries), CreatedAt: d.CreatedAt})
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
	return nil
}
