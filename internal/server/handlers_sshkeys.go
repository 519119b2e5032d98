package server

import (
	"net/http"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/httpapi"
	"github.com/gpuaas/gpuaas/internal/sshkeys"
)

func (a *App) listSSHKeys(w http.ResponseWriter, r *http.Request) error {
	page, after, err := httpapi.ParsePageFrom[sshkeys.Cursor](r)
	if err != nil {
		return err
	}
	items, next, err := a.SSHKeys.List(r.Context(), principal(r).UserID, after, page.Size)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, api.SSHKeyList{Items: items, NextCursor: cursorOf(next)})
	return nil
}

func (a *App) addSSHKey(w http.ResponseWriter, r *http.Request) error {
	var req api.AddSSHKeyRequest
	if err := httpapi.Decode(r, &req); err != nil {
		return err
	}
	k, err := a.SSHKeys.Add(r.Context(), principal(r).UserID, sshkeys.AddParams{Name: req.Name, PublicKey: req.PublicKey})
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, k)
	return nil
}

func (a *App) deleteSSHKey(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "key_id")
	if err != nil {
		return err
	}
	if err := a.SSHKeys.Delete(r.Context(), principal(r).UserID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
