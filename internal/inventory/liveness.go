package inventory

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/prom"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// GPUReport is one device as a node's agent reports it.
type GPUReport struct {
	Index     int
	UUID      string
	Model     string
	MemoryMiB int
	Healthy   bool
	Reasons   []string // why it is unhealthy, when it is
}

// OfflineHook runs in the transaction that marks a node offline, with the
// last heartbeat that saw it (billing pauses there).
type OfflineHook func(ctx context.Context, tx *store.Store, nodeID uuid.UUID, lastSeen time.Time) error

// Liveness is the one writer of what agents report about their nodes:
// online and offline, the last heartbeat, the offline grace, GPU devices
// and their health. The agent gateway decides when to call it (which
// heartbeat is written at once, which is only stamped); this is where the
// rows change.
type Liveness struct {
	st        *store.Store
	naming    events.Naming
	onOffline OfflineHook

	mu sync.Mutex
	// pending holds liveness stamps not yet written, for Flush.
	pending map[uuid.UUID]time.Time

	flushes    prometheus.Counter
	offline    prometheus.Counter
	unanswered prometheus.Counter
}

// NewLiveness returns the writer of node liveness. onOffline may be nil;
// reg may be nil.
func NewLiveness(st *store.Store, naming events.Naming, onOffline OfflineHook, reg prometheus.Registerer) *Liveness {
	return &Liveness{
		st: st, naming: naming, onOffline: onOffline, pending: map[uuid.UUID]time.Time{},
		flushes: prom.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gpuaas_agent_heartbeat_flushes_total",
			Help: "Batched writes of agent liveness stamps (one statement each).",
		})),
		offline: prom.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gpuaas_nodes_marked_offline_total",
			Help: "Nodes marked offline because their agent missed its heartbeat deadline.",
		})),
		unanswered: prom.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gpuaas_offline_sweep_unanswered_total",
			Help: "Stale nodes a sweep left for later because the replica holding their agent did not answer in time.",
		})),
	}
}

// Record writes a heartbeat at once: the node is online as of at, and,
// when gpus is not nil, its devices are what it reports. cameBack is true
// when the node was offline until now. A report heard before the node was
// marked offline is dropped: the node stays offline.
func (l *Liveness) Record(ctx context.Context, nodeID uuid.UUID, at time.Time, gpus []GPUReport) (cameBack bool, err error) {
	err = l.st.InTx(ctx, func(tx *store.Store) error {
		var err error
		cameBack, err = tx.MarkNodeOnline(ctx, db.MarkNodeOnlineParams{ID: nodeID, At: &at})
		if store.IsNoRows(err) {
			return nil // heard before the node went offline (or it is gone): nothing to write
		}
		if err != nil {
			return err
		}
		if gpus != nil {
			return l.syncGPUs(ctx, tx, nodeID, gpus, at)
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("write heartbeat: %w", err)
	}
	return cameBack, nil
}

// Stamp notes a heartbeat to be written by the next Flush.
func (l *Liveness) Stamp(nodeID uuid.UUID, at time.Time) {
	l.mu.Lock()
	l.pending[nodeID] = at
	l.mu.Unlock()
}

// Stamped is a node's liveness stamp as written by a Flush.
type Stamped struct {
	ID uuid.UUID
	At time.Time
}

// Flush writes the pending stamps in one statement, so a quiet fleet of
// thousands of agents costs one UPDATE per flush, and returns the nodes
// that were offline until now, with the stamp that brought them back. On
// failure the stamps are kept for the next flush.
func (l *Liveness) Flush(ctx context.Context) (cameBack []Stamped, err error) {
	l.mu.Lock()
	if len(l.pending) == 0 {
		l.mu.Unlock()
		return nil, nil
	}
	batch := l.pending
	l.pending = make(map[uuid.UUID]time.Time, len(batch))
	l.mu.Unlock()
	p := db.TouchNodesOnlineParams{Ids: make([]uuid.UUID, 0, len(batch)), Ats: make([]time.Time, 0, len(batch))}
	for id, at := range batch {
		p.Ids, p.Ats = append(p.Ids, id), append(p.Ats, at)
	}
	rows, err := l.st.TouchNodesOnline(ctx, p)
	if err != nil {
		l.mu.Lock()
		for id, at := range batch {
			if cur, ok := l.pending[id]; !ok || cur.Before(at) {
				l.pending[id] = at
			}
		}
		l.mu.Unlock()
		return nil, fmt.Errorf("flush heartbeats: %w", err)
	}
	for _, r := range rows {
		if r.CameBack {
			cameBack = append(cameBack, Stamped{ID: r.ID, At: batch[r.ID]})
		}
	}
	l.flushes.Inc()
	return cameBack, nil
}

// Offline is a node Sweep or MarkOffline took offline.
type Offline struct {
	ID       uuid.UUID
	Hostname string
}

// Sweep marks offline the agent-run nodes whose last written heartbeat is
// before `before` and that heard reports no later heartbeat for (a stamp
// may wait in another replica's flusher while Postgres was away), each
// with the offline hook at its last heartbeat and its node.offline event
// in one transaction. It first adds to offline nodes' grace the time since
// the last sweep, at most graceCap: time no control plane ran to see
// does not count against a node.
//
// heard says when any replica last heard the node, and known is false
// when a replica holds its session but did not answer in time: a busy
// holder is not a dead node, so such a node is left for a later sweep
// until its last stamp is three deadlines old (a holder that is hung, not
// gone, cannot keep a lost node online for ever).
func (l *Liveness) Sweep(ctx context.Context, now, before time.Time, graceCap time.Duration,
	heard func(context.Context, uuid.UUID) (at time.Time, known bool)) ([]Offline, error) {
	if err := l.st.CountOfflineGrace(ctx, graceCap.Microseconds()); err != nil {
		return nil, fmt.Errorf("count offline grace: %w", err)
	}
	stale, err := l.st.ListStaleNodes(ctx, &before)
	if err != nil {
		return nil, fmt.Errorf("list stale nodes: %w", err)
	}
	hardBefore := before.Add(-2 * now.Sub(before))
	var silent []uuid.UUID
	last := map[uuid.UUID]time.Time{}
	for _, n := range stale {
		h, known := heard(ctx, n.ID)
		if h.After(before) {
			continue // a replica hears it; its stamp is on its way
		}
		if !known && n.LastHeartbeatAt != nil && n.LastHeartbeatAt.After(hardBefore) {
			l.unanswered.Inc()
			continue // its holder did not answer in time: ask again next sweep
		}
		silent = append(silent, n.ID)
		last[n.ID] = h
	}
	if len(silent) == 0 {
		return nil, nil
	}
	var out []Offline
	err = l.st.InTx(ctx, func(tx *store.Store) error {
		out = out[:0]
		rows, err := tx.SweepOfflineNodes(ctx, db.SweepOfflineNodesParams{Ids: silent, Before: &before})
		if err != nil {
			return err
		}
		for _, r := range rows {
			seen := r.LastHeartbeatAt
			if h := last[r.ID]; seen == nil || h.After(*seen) {
				seen = &h // heard later than the last stamp written
			}
			if err := l.wentOffline(ctx, tx, r.ID, r.Hostname, seen, "missed heartbeat deadline", now); err != nil {
				return err
			}
			out = append(out, Offline{ID: r.ID, Hostname: r.Hostname})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sweep offline nodes: %w", err)
	}
	l.offline.Add(float64(len(out)))
	return out, nil
}

// MarkOffline marks one node offline now, for reason (a probe nobody
// answered).
func (l *Liveness) MarkOffline(ctx context.Context, nodeID uuid.UUID, reason string) error {
	return l.st.InTx(ctx, func(tx *store.Store) error {
		rows, err := tx.MarkNodeOffline(ctx, nodeID)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if err := l.wentOffline(ctx, tx, r.ID, r.Hostname, r.LastHeartbeatAt, reason, time.Now()); err != nil {
				return err
			}
		}
		return nil
	})
}

// wentOffline does, in the transaction that marked a node offline, what
// follows from it: the offline hook at its last heartbeat, and its event.
func (l *Liveness) wentOffline(ctx context.Context, tx *store.Store, id uuid.UUID, hostname string, lastSeen *time.Time, reason string, at time.Time) error {
	if l.onOffline != nil {
		seen := at
		if lastSeen != nil {
			seen = *lastSeen
		}
		if err := l.onOffline(ctx, tx, id, seen); err != nil {
			return err
		}
	}
	_, err := events.Enqueue(ctx, tx, l.naming, events.NodeOffline,
		events.Node{NodeID: id, Hostname: hostname, Reason: reason, At: at.UTC()})
	return err
}

// syncGPUs makes the node's devices what its agent reports. A held GPU
// that turns unhealthy (or goes missing) tells its owner and takes the
// node out of placement (gpusFailed).
func (l *Liveness) syncGPUs(ctx context.Context, tx *store.Store, nodeID uuid.UUID, gpus []GPUReport, at time.Time) error {
	held, err := tx.ListHeldGPUHealth(ctx, nodeID)
	if err != nil {
		return fmt.Errorf("read held gpus: %w", err)
	}
	reported := make([]string, len(gpus))
	for i, g := range gpus {
		reported[i] = g.UUID
	}
	if _, err := tx.DeleteUnreportedGPUs(ctx, db.DeleteUnreportedGPUsParams{NodeID: nodeID, Reported: reported}); err != nil {
		return fmt.Errorf("remove unreported gpus: %w", err)
	}
	if _, err := tx.MarkUnreportedGPUs(ctx, db.MarkUnreportedGPUsParams{NodeID: nodeID, Reported: reported}); err != nil {
		return fmt.Errorf("mark unreported gpus: %w", err)
	}
	unhealthy := map[string]string{} // uuid → why it is unhealthy now
	for _, g := range gpus {
		health, why := "healthy", strings.Join(g.Reasons, "; ")
		if !g.Healthy {
			health = "unhealthy"
			unhealthy[g.UUID] = why
			if why == "" {
				unhealthy[g.UUID] = "reported unhealthy"
			}
		}
		if err := tx.UpsertReportedGPU(ctx, db.UpsertReportedGPUParams{
			NodeID: nodeID, Idx: int32(g.Index), Uuid: g.UUID, Model: g.Model, MemoryMib: int32(g.MemoryMiB),
			Health: health, HealthReason: why,
		}); err != nil {
			return fmt.Errorf("upsert gpu %s: %w", g.UUID, err)
		}
	}
	for _, h := range held {
		if !slices.Contains(reported, h.Uuid) {
			unhealthy[h.Uuid] = "missing from the agent's report (fallen off the bus?)"
		}
	}
	return l.gpusFailed(ctx, tx, nodeID, held, unhealthy, at)
}

// gpusFailed tells the owner of each held GPU that was healthy and is not
// now, and takes the node out of placement, in the heartbeat's transaction.
func (l *Liveness) gpusFailed(ctx context.Context, tx *store.Store, nodeID uuid.UUID, held []db.ListHeldGPUHealthRow, unhealthy map[string]string, at time.Time) error {
	var reasons []string
	for _, h := range held {
		why, bad := unhealthy[h.Uuid]
		if !bad || h.Health != "healthy" {
			continue
		}
		reasons = append(reasons, fmt.Sprintf("GPU %d (%s): %s", h.Idx, h.Uuid, why))
		slog.Error("gpu turned unhealthy under an allocation", "node_id", nodeID, "gpu", h.Uuid, "allocation_id", h.AllocationID, "reason", why)
		if _, err := events.Enqueue(ctx, tx, l.naming, events.GPUUnhealthy, events.GPU{
			NodeID: nodeID, GPUUUID: h.Uuid, Index: int(h.Idx), Reason: why, AllocationID: h.AllocationID, UserID: h.UserID, At: at.UTC(),
		}); err != nil {
			return err
		}
	}
	if len(reasons) == 0 {
		return nil
	}
	n, err := tx.CordonNode(ctx, nodeID)
	if err != nil {
		return fmt.Errorf("cordon node: %w", err)
	}
	if n == 0 {
		return nil
	}
	return audit.Record(ctx, tx.Queries, audit.Entry{
		Action: audit.ActionNodeCordoned, TargetType: "node", TargetID: nodeID.String(),
		Metadata: map[string]any{"admin_state_from": "active", "admin_state_to": "maintenance", "reason": strings.Join(reasons, "; ")},
	})
}
