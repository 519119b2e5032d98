package server

import (
	"context"
	"crypto/subtle"
	"net/http"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/httpapi"
	"github.com/gpuaas/gpuaas/internal/stats"
	"github.com/gpuaas/gpuaas/internal/store"
)

// internalStats is guarded by --internal-stats-token, compared in constant
// time; unset, the route does not exist (404).
func (a *App) internalStats(w http.ResponseWriter, r *http.Request) error {
	want := a.Config.InternalStatsToken
	if want == "" {
		return apperr.NotFound("route " + r.URL.Path)
	}
	got, _ := bearer(r)
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return apperr.Unauthorized("invalid_token", "a valid internal stats token is required")
	}
	ctx := r.Context()
	allocs, err := countAllocations(a.Store)(ctx)
	if err != nil {
		return err
	}
	nodes := map[string]int64{"online": 0, "offline": 0}
	rows, err := a.Store.CountNodesByState(ctx)
	if err != nil {
		return err
	}
	for _, n := range rows {
		nodes[n.Status] += n.N
	}
	pending, err := a.Store.CountPendingOutbox(ctx)
	if err != nil {
		return err
	}
	snap, err := stats.Read(a.Registry)
	if err != nil && len(snap) == 0 {
		return err
	}
	for _, s := range stats.AllocationStatuses {
		if _, ok := allocs[s]; !ok {
			allocs[s] = 0
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, api.InternalStats{
		Allocations:           allocs,
		Nodes:                 nodes,
		OutboxPending:         pending,
		AgentSessions:         snap.Sum("gpuaas_agent_sessions", nil),
		DeadLetters:           snap.Sum("gpuaas_consumer_dead_letters_total", nil),
		NotifyConnections:     snap.Sum("gpuaas_notify_connections", nil),
		NotifyDroppedClients:  snap.Sum("gpuaas_notify_dropped_clients_total", nil),
		NotifyWriteErrors:     snap.Sum("gpuaas_notify_write_errors_total", nil),
		TerminalTokensMinted:  snap.Sum("gpuaas_terminal_tokens_minted_total", nil),
		TerminalTokenConsumes: snap.By("gpuaas_terminal_token_consumes_total", "result"),
		KvFailOpen:            snap.Sum("gpuaas_kv_fail_open_total", nil),
		NodesMarkedOffline:    snap.Sum("gpuaas_nodes_marked_offline_total", nil),
	})
	return nil
}

// countAllocations reads allocations by status for the stats route and the
// gpuaas_allocations collector.
func countAllocations(st *store.Store) stats.CountFunc {
	return func(ctx context.Context) (map[string]int64, error) {
		rows, err := st.CountAllocationsByStatus(ctx)
		if err != nil {
			return nil, err
		}
		out := make(map[string]int64, len(rows))
		for _, row := range rows {
			out[row.Status] = row.N
		}
		return out, nil
	}
}
