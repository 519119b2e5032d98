package server

import (
	"net/http"
	"time"

	"github.com/gpuaas/gpuaas/internal/httpapi"
	"github.com/gpuaas/gpuaas/internal/telemetry"
)

// allocationMetrics answers the GPU telemetry of the caller's allocation.
func (a *App) allocationMetrics(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "allocation_id")
	if err != nil {
		return err
	}
	win, err := telemetry.ParseWindow(r.URL.Query(), time.Now(), a.Config.HeartbeatInterval)
	if err != nil {
		return err
	}
	m, err := a.Metrics.AllocationMetrics(r.Context(), principal(r).UserID, id, win)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, m)
	return nil
}

// adminNodeMetrics answers the GPU telemetry of every GPU of a node.
func (a *App) adminNodeMetrics(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "node_id")
	if err != nil {
		return err
	}
	win, err := telemetry.ParseWindow(r.URL.Query(), time.Now(), a.Config.HeartbeatInterval)
	if err != nil {
		return err
	}
	m, err := a.Metrics.NodeMetrics(r.Context(), id, win)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, m)
	return nil
}
