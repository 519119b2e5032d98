package server

import (
	"net/http"
	"strconv"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/httpapi"
)

// billingLimits is the spend limits and their use of the caller's account
// (or of their team's, with team=).
func (a *App) billingLimits(w http.ResponseWriter, r *http.Request) error {
	acct, err := a.account(r)
	if err != nil {
		return err
	}
	l, err := a.Limits.Get(r.Context(), acct)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, l)
	return nil
}

// billingDailySpend is the caller's usage charges per day and SKU.
func (a *App) billingDailySpend(w http.ResponseWriter, r *http.Request) error {
	days := 30
	if s := r.URL.Query().Get("days"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return apperr.Invalid("days must be a whole number")
		}
		days = n
	}
	acct, err := a.account(r)
	if err != nil {
		return err
	}
	out, err := a.Billing.DailySpend(r.Context(), acct, days)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (a *App) adminGetUserLimits(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "user_id")
	if err != nil {
		return err
	}
	if _, err := a.Users.Get(r.Context(), id); err != nil {
		return err
	}
	l, err := a.Limits.Get(r.Context(), id)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, l)
	return nil
}

func (a *App) adminSetUserLimits(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "user_id")
	if err != nil {
		return err
	}
	var req api.SpendLimitsRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	if _, err := a.Users.Get(r.Context(), id); err != nil {
		return err
	}
	l, err := a.Limits.Set(r.Context(), principal(r).UserID, id, req)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, l)
	return nil
}

// adminGetTeamLimits and adminSetTeamLimits are the user routes' twins for
// a team: its limits count what the team's allocations run and spend.
func (a *App) adminGetTeamLimits(w http.ResponseWriter, r *http.Request) error {
	id, err := a.Teams.ByAdmin(r.Context(), r.PathValue("slug"))
	if err != nil {
		return err
	}
	l, err := a.Limits.Get(r.Context(), id)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, l)
	return nil
}

func (a *App) adminSetTeamLimits(w http.ResponseWriter, r *http.Request) error {
	var req api.SpendLimitsRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	id, err := a.Teams.ByAdmin(r.Context(), r.PathValue("slug"))
	if err != nil {
		return err
	}
	l, err := a.Limits.Set(r.Context(), principal(r).UserID, id, req)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, l)
	return nil
}
