package server

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/httpapi"
	"github.com/gpuaas/gpuaas/internal/idempotency"
	"github.com/gpuaas/gpuaas/internal/store"
)

// account is whom the request acts for: the caller, or the team named by
// the team query parameter, which they must be in (404 otherwise).
func (a *App) account(r *http.Request) (uuid.UUID, error) {
	return a.Teams.Account(r.Context(), principal(r).UserID, r.URL.Query().Get("team"))
}

func (a *App) listTeams(w http.ResponseWriter, r *http.Request) error {
	items, err := a.Teams.List(r.Context(), principal(r).UserID)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, api.TeamList{Items: items})
	return nil
}

func (a *App) createTeam(w http.ResponseWriter, r *http.Request) error {
	var req api.CreateTeamRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	t, err := a.Teams.Create(r.Context(), principal(r).UserID, req.Slug, req.Name)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, t)
	return nil
}

func (a *App) getTeam(w http.ResponseWriter, r *http.Request) error {
	t, err := a.Teams.Get(r.Context(), principal(r).UserID, r.PathValue("slug"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, t)
	return nil
}

func (a *App) updateTeam(w http.ResponseWriter, r *http.Request) error {
	var req api.UpdateTeamRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	t, err := a.Teams.Rename(r.Context(), principal(r).UserID, r.PathValue("slug"), req.Name)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, t)
	return nil
}

func (a *App) addTeamMember(w http.ResponseWriter, r *http.Request) error {
	var req api.AddTeamMemberRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	role := ""
	if req.Role != nil {
		role = string(*req.Role)
	}
	m, err := a.Teams.AddMember(r.Context(), principal(r).UserID, r.PathValue("slug"), req.Username, role)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, m)
	return nil
}

func (a *App) updateTeamMember(w http.ResponseWriter, r *http.Request) error {
	var req api.UpdateTeamMemberRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	m, err := a.Teams.SetRole(r.Context(), principal(r).UserID, r.PathValue("slug"), r.PathValue("username"), string(req.Role))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, m)
	return nil
}

// removeTeamMember takes a member out; their open terminals and SSH
// connections to the team's allocations end with it.
func (a *App) removeTeamMember(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.Teams.RemoveMember(r.Context(), principal(r).UserID, r.PathValue("slug"), r.PathValue("username")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// teamCursor is where an admin's list of teams goes on: after this slug.
type teamCursor struct {
	Slug string `json:"s"`
}

func (a *App) adminListTeams(w http.ResponseWriter, r *http.Request) error {
	page, after, err := httpapi.ParsePageFrom[teamCursor](r)
	if err != nil {
		return err
	}
	from := ""
	if after != nil {
		from = after.Slug
	}
	items, next, err := a.Teams.AdminList(r.Context(), from, page.Size)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, api.TeamList{Items: items, NextCursor: cursorOf(teamCursor{next})})
	return nil
}

func (a *App) adminTeamBalance(w http.ResponseWriter, r *http.Request) error {
	id, err := a.Teams.ByAdmin(r.Context(), r.PathValue("slug"))
	if err != nil {
		return err
	}
	b, err := a.Billing.Balance(r.Context(), id)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, b)
	return nil
}

func (a *App) adminAdjustTeamBalance(w http.ResponseWriter, r *http.Request) error {
	id, err := a.Teams.ByAdmin(r.Context(), r.PathValue("slug"))
	if err != nil {
		return err
	}
	var req api.AdjustBalanceRequest
	raw, err := httpapi.DecodeRaw(r, &req)
	if err != nil {
		return err
	}
	route := "POST /api/v1/admin/teams/" + id.String() + "/balance"
	return a.idempotent(w, r, route, raw, http.StatusOK, func(tx *store.Store) (any, error) {
		return a.Billing.AdjustIn(r.Context(), tx, principal(r).UserID, id, req.AmountMinor, req.Reason, r.Header.Get(idempotency.Header))
	})
}
