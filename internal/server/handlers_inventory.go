package server

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/httpapi"
	"github.com/gpuaas/gpuaas/internal/inventory"
	"github.com/gpuaas/gpuaas/internal/store"
)

func (a *App) listSKUs(w http.ResponseWriter, r *http.Request) error {
	var after string
	page, err := httpapi.ParsePageAfter(r, &after)
	if err != nil {
		return err
	}
	items, next, err := a.Inventory.ListSKUs(r.Context(), after, page.Size)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, api.SKUList{Items: items, NextCursor: cursorOf(next)})
	return nil
}

func (a *App) listNodes(w http.ResponseWriter, r *http.Request) error {
	return a.nodes(w, r, inventory.NodeFilter{ExcludeDisabled: true})
}

func (a *App) adminListNodes(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	return a.nodes(w, r, inventory.NodeFilter{AdminState: q.Get("admin_state"), Search: q.Get("q")})
}

func (a *App) nodes(w http.ResponseWriter, r *http.Request, f inventory.NodeFilter) error {
	var after string
	page, err := httpapi.ParsePageAfter(r, &after)
	if err != nil {
		return err
	}
	f.Status, f.Region = r.URL.Query().Get("status"), r.URL.Query().Get("region")
	items, next, err := a.Inventory.ListNodes(r.Context(), f, after, page.Size)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, api.NodeList{Items: items, NextCursor: cursorOf(next)})
	return nil
}

func (a *App) adminCreateNode(w http.ResponseWriter, r *http.Request) error {
	var req api.CreateNodeRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	node, err := a.Inventory.CreateNode(r.Context(), principal(r).UserID, req)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, node)
	return nil
}

// adminGetNode shows one node with its GPUs, their health and its agent.
func (a *App) adminGetNode(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "node_id")
	if err != nil {
		return err
	}
	node, err := a.Inventory.GetNode(r.Context(), id)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, node)
	return nil
}

func (a *App) adminDisableNode(w http.ResponseWriter, r *http.Request) error {
	return a.setNodeAdminState(w, r, a.Inventory.DisableNode)
}

func (a *App) adminEnableNode(w http.ResponseWriter, r *http.Request) error {
	return a.setNodeAdminState(w, r, a.Inventory.EnableNode)
}

func (a *App) setNodeAdminState(w http.ResponseWriter, r *http.Request,
	set func(ctx context.Context, actor, id uuid.UUID) (api.Node, error)) error {
	id, err := pathUUID(r, "node_id")
	if err != nil {
		return err
	}
	node, err := set(r.Context(), principal(r).UserID, id)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, node)
	return nil
}

// cursorOf wraps a page's last key in an opaque cursor ("" at the end).
func cursorOf[T comparable](last T) string {
	var zero T
	if last == zero {
		return ""
	}
	return httpapi.EncodeCursor(last)
}

// adminDrainNode stops placements on a node and schedules the release of
// what runs there at the deadline.
func (a *App) adminDrainNode(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "node_id")
	if err != nil {
		return err
	}
	var req api.DrainNodeRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	node, err := a.Inventory.DrainNode(r.Context(), principal(r).UserID, id, req, time.Now())
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, node)
	return nil
}

func (a *App) adminUndrainNode(w http.ResponseWriter, r *http.Request) error {
	return a.setNodeAdminState(w, r, a.Inventory.UndrainNode)
}

// adminDecommissionNode retires an empty node, revoking its agent's
// credentials and unused join tokens in the same transaction.
func (a *App) adminDecommissionNode(w http.ResponseWriter, r *http.Request) error {
	return a.setNodeAdminState(w, r, func(ctx context.Context, actor, id uuid.UUID) (api.Node, error) {
		return a.Inventory.DecommissionNode(ctx, actor, id, func(ctx context.Context, tx *store.Store, node uuid.UUID) (int64, error) {
			if _, err := tx.RevokeUnusedJoinTokens(ctx, node); err != nil {
				return 0, err
			}
			return tx.RevokeNodeCredentials(ctx, node)
		})
	})
}
