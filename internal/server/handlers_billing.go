package server

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/billing"
	"github.com/gpuaas/gpuaas/internal/httpapi"
	"github.com/gpuaas/gpuaas/internal/idempotency"
	"github.com/gpuaas/gpuaas/internal/store"
)

func (a *App) billingBalance(w http.ResponseWriter, r *http.Request) error {
	acct, err := a.account(r)
	if err != nil {
		return err
	}
	b, err := a.Billing.Balance(r.Context(), acct)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, b)
	return nil
}

func (a *App) billingUsage(w http.ResponseWriter, r *http.Request) error {
	f, err := usageFilter(r)
	if err != nil {
		return err
	}
	page, after, err := httpapi.ParsePageFrom[billing.Cursor](r)
	if err != nil {
		return err
	}
	acct, err := a.account(r)
	if err != nil {
		return err
	}
	items, next, err := a.Billing.ListUsage(r.Context(), acct, f, after, page.Size)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, api.UsageList{Items: items, NextCursor: cursorOf(next)})
	return nil
}

// billingStorageCharges lists the caller's daily storage charges.
func (a *App) billingStorageCharges(w http.ResponseWriter, r *http.Request) error {
	var f billing.Filter
	var err error
	if f.Since, f.Until, err = timeRange(r.URL.Query()); err != nil {
		return err
	}
	page, after, err := httpapi.ParsePageFrom[billing.StorageCursor](r)
	if err != nil {
		return err
	}
	acct, err := a.account(r)
	if err != nil {
		return err
	}
	items, next, err := a.Billing.ListStorageCharges(r.Context(), acct, f, after, page.Size)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, api.StorageChargeList{Items: items, NextCursor: cursorOf(next)})
	return nil
}

func (a *App) billingUsageCSV(w http.ResponseWriter, r *http.Request) error {
	f, err := usageFilter(r)
	if err != nil {
		return err
	}
	acct, err := a.account(r)
	if err != nil {
		return err
	}
	httpapi.Stream(w, r, "text/csv; charset=utf-8", "usage.csv", func(sw *httpapi.StreamWriter) error {
		return a.Billing.ExportUsageCSV(r.Context(), acct, f, sw)
	})
	return nil
}

// adminUserBalance is a user's balance as billingBalance shows it to them.
func (a *App) adminUserBalance(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "user_id")
	if err != nil {
		return err
	}
	b, err := a.Billing.UserBalance(r.Context(), id)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, b)
	return nil
}

func (a *App) adminAdjustBalance(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "user_id")
	if err != nil {
		return err
	}
	var req api.AdjustBalanceRequest
	raw, err := httpapi.DecodeRaw(r, &req)
	if err != nil {
		return err
	}
	// The stored response and the posting commit in one transaction (one
	// pool connection per request); the ledger key derived from the same
	// header is a second guard, should the key record ever be cleaned up.
	route := "POST /api/v1/admin/users/" + id.String() + "/balance"
	return a.idempotent(w, r, route, raw, http.StatusOK, func(tx *store.Store) (any, error) {
		return a.Billing.AdjustIn(r.Context(), tx, principal(r).UserID, id, req.AmountMinor, req.Reason, r.Header.Get(idempotency.Header))
	})
}

func (a *App) adminCloseUsage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "allocation_id")
	if err != nil {
		return err
	}
	var req api.CloseUsageRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	item, err := a.Billing.CloseAt(r.Context(), principal(r).UserID, id, req.EndedAt)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, item)
	return nil
}

func usageFilter(r *http.Request) (billing.Filter, error) {
	q := r.URL.Query()
	var f billing.Filter
	if s := q.Get("allocation_id"); s != "" {
		id, err := uuid.Parse(s)
		if err != nil {
			return f, apperr.Invalid("allocation_id must be a UUID")
		}
		f.AllocationID = id
	}
	var err error
	f.Since, f.Until, err = timeRange(q)
	return f, err
}
