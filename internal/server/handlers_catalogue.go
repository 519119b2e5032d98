package server

import (
	"net/http"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/httpapi"
)

// Catalogue administration: regions, SKUs, their prices and suggestions
// (package inventory does the work and the auditing).

func (a *App) adminListRegions(w http.ResponseWriter, r *http.Request) error {
	items, err := a.Inventory.ListRegions(r.Context())
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, api.RegionList{Items: items})
	return nil
}

func (a *App) adminCreateRegion(w http.ResponseWriter, r *http.Request) error {
	var req api.CreateRegionRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	region, err := a.Inventory.CreateRegion(r.Context(), principal(r).UserID, req)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, region)
	return nil
}

func (a *App) adminUpdateRegion(w http.ResponseWriter, r *http.Request) error {
	var req api.UpdateRegionRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	region, err := a.Inventory.RenameRegion(r.Context(), principal(r).UserID, r.PathValue("region_slug"), req)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, region)
	return nil
}

func (a *App) adminDeleteRegion(w http.ResponseWriter, r *http.Request) error {
	if err := a.Inventory.DeleteRegion(r.Context(), principal(r).UserID, r.PathValue("region_slug")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *App) adminListSKUs(w http.ResponseWriter, r *http.Request) error {
	var after string
	page, err := httpapi.ParsePageAfter(r, &after)
	if err != nil {
		return err
	}
	items, next, err := a.Inventory.ListAllSKUs(r.Context(), after, page.Size)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, api.SKUList{Items: items, NextCursor: cursorOf(next)})
	return nil
}

func (a *App) adminCreateSKU(w http.ResponseWriter, r *http.Request) error {
	var req api.CreateSKURequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	sku, err := a.Inventory.CreateSKU(r.Context(), principal(r).UserID, req)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, sku)
	return nil
}

func (a *App) adminUpdateSKU(w http.ResponseWriter, r *http.Request) error {
	var req api.UpdateSKURequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	sku, err := a.Inventory.UpdateSKU(r.Context(), principal(r).UserID, r.PathValue("sku_id"), req)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, sku)
	return nil
}

func (a *App) adminListSKUPrices(w http.ResponseWriter, r *http.Request) error {
	items, err := a.Inventory.SKUPrices(r.Context(), r.PathValue("sku_id"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, api.SKUPriceList{Items: items})
	return nil
}

func (a *App) adminSKUSuggestions(w http.ResponseWriter, r *http.Request) error {
	items, err := a.Inventory.SKUSuggestions(r.Context())
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, api.SKUSuggestionList{Items: items})
	return nil
}
