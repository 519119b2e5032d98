package allocation

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Error codes of this package.
const (
	CodeInvalidState         = "invalid_state"
	CodeInsufficientCapacity = "insufficient_capacity"
	CodeInsufficientFunds    = "insufficient_funds"
	// CodeAccountSuspended is auth's code for the same refusal.
	CodeAccountSuspended = "account_suspended"
)

// UsageCloser opens or ends an allocation's usage window at `at` inside tx
// (billing owns the window); an allocation that never ran has none to end.
type UsageCloser func(ctx context.Context, tx *store.Store, allocationID uuid.UUID, at time.Time) error

// ReasonNodeLost is the failure reason of an allocation whose node stayed
// offline past the grace period.
const ReasonNodeLost = "node_lost"

// Config tunes the service.
type Config struct {
	Naming events.Naming
	// MinRunway is how long the caller's credit must last, at their total
	// burn rate with the new allocation, for a create to be accepted.
	MinRunway time.Duration
	LockFunds FundsLocker
	// CheckLimits, when set, is asked after the funds check whether the
	// create stays within the user's spend limits.
	CheckLimits LimitChecker
	// OpenUsage and CloseUsage, when set, open the usage window in the
	// transaction that makes an allocation active, and close it in the one
	// that asks for its release (or ends it): a window ends at the request
	// whatever happens on the node afterwards, and exists from the first
	// moment a node going offline must pause it.
	OpenUsage  UsageCloser
	CloseUsage UsageCloser
	// Secrets seals a workload's secret variables; a workload with some
	// is refused without it (they are never stored in plain text).
	Secrets Sealer
	// Health, when set, is where a launchable's readiness is probed (the
	// catalogue's health); the provisioner puts it in the container's task
	// so the agent can report the allocation's apps ready.
	Health func(launchable string) *agentproto.Health
	// StorageMounted says whether the storage of nodeID's region is a
	// shared filesystem that its nodes mount (the fs backend): then a
	// provision names the owner's namespace for /workspace; when not, note
	// (if any) is stored as the allocation's storage event. nil: always
	// (the node decides, and says so when it has none).
	StorageMounted func(ctx context.Context, nodeID uuid.UUID) (ok bool, note string, err error)
}

// Service runs the lifecycle.
type Service struct {
	cfg   Config
	store *store.Store

	transitions *prometheus.CounterVec
	refused     *prometheus.CounterVec
	retries     *prometheus.CounterVec
	stepBatches prometheus.Histogram

	candidates      *candidateCache
	skus            skuHints
	placementScans  prometheus.Counter
	placementMisses prometheus.Counter
	earlyPlaced     prometheus.Counter
}

// Retry backoff of a failed step: 1 s doubling to at most 30 s, so a
// release that waits for an agent is tried again soon after it is back
// (and at once when it reports in).
const (
	backoffBase = time.Second
	backoffMax  = 30 * time.Second
)

// backoff is the wait before attempt n (1-based) of a failed step.
func (s *Service) backoff(n int) time.Duration {
	d := backoffBase
	for i := 1; i < n && d < backoffMax; i++ {
		d *= 2
	}
	return min(d, backoffMax)
}

// New returns a Service. reg may be nil.
func New(st *store.Store, cfg Config, reg prometheus.Registerer) *Service {
	s := &Service{
		cfg:   cfg,
		store: st,
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gpuaas_allocation_transitions_total",
			Help: "Allocation status changes, by target status.",
		}, []string{"to"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gpuaas_allocation_illegal_transitions_total",
			Help: "Status changes refused by the transition table or lost to a concurrent change.",
		}, []string{"from", "to"}),
	}
	s.retries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gpuaas_allocation_step_retries_total",
		Help: "Failed allocation steps scheduled for another attempt, by the status they stay in.",
	}, []string{"status"})
	s.stepBatches = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "gpuaas_allocation_step_batch_size",
		Help:    "Provisioning steps committed per transaction (see stepBatcher).",
		Buckets: []float64{1, 2, 4, 8, 16, 32},
	})
	s.candidates = newCandidateCache()
	s.placementScans = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gpuaas_allocation_placement_scans_total",
		Help: "Reads of the fleet for placement candidates (a cached list expired or ran out).",
	})
	s.placementMisses = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gpuaas_allocation_placement_misses_total",
		Help: "Placement tries on a cached candidate node that turned out short (full, taken by a concurrent create, or out of service).",
	})
	s.earlyPlaced = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gpuaas_allocation_early_placements_total",
		Help: "Creates placed in the round trip of their first reads, from the SKU as an earlier create read it (see place).",
	})
	if reg != nil {
		reg.MustRegister(s.transitions, s.refused, s.retries, s.stepBatches, s.placementScans, s.placementMisses, s.earlyPlaced)
	}
	return s
}

// Get returns one allocation of userID; another user's is 404.
func (s *Service) Get(ctx context.Context, userID, id uuid.UUID) (api.Allocation, error) {
	row, err := s.store.GetUserAllocationView(ctx, db.GetUserAllocationViewParams{ID: id, UserID: userID})
	if store.IsNoRows(err) {
		return api.Allocation{}, apperr.NotFound("allocation")
	}
	if err != nil {
		return api.Allocation{}, fmt.Errorf("get allocation: %w", err)
	}
	return ToAPIOnNode(row.Allocation, nodeView(row.NodeHostname, row.NodeStatus, row.NodeSshHost, row.NodeSshPort, row.NodeDrainDeadline, row.NodeDrainReason)), nil
}

// AdminGet returns any allocation with its owner; 404 when there is none.
func (s *Service) AdminGet(ctx context.Context, id uuid.UUID) (api.Allocation, error) {
	row, err := s.store.GetAllocationAdminView(ctx, id)
	if store.IsNoRows(err) {
		return api.Allocation{}, apperr.NotFound("allocation")
	}
	if err != nil {
		return api.Allocation{}, fmt.Errorf("get allocation: %w", err)
	}
	a := ToAPIOnNode(row.Allocation, nodeView(row.NodeHostname, row.NodeStatus, row.NodeSshHost, row.NodeSshPort, row.NodeDrainDeadline, row.NodeDrainReason))
	a.Owner = &api.UserSummary{Id: row.Allocation.UserID, Username: row.OwnerUsername, Email: row.OwnerEmail}
	return a, nil
}

// statusList is every status, comma-separated, for error messages.
func statusList() string {
	names := make([]string, len(Statuses))
	for i, st := range Statuses {
		names[i] = string(st)
	}
	return strings.Join(names, ", ")
}

// Filter narrows List.
type Filter struct {
	UserID uuid.UUID // uuid.Nil: everyone (admins)
	NodeID uuid.UUID // uuid.Nil: any node, or none yet
	Status string
}

// Cursor is the position after the last allocation of a page.
type Cursor struct {
	CreatedAt time.Time `json:"t"`
	ID        uuid.UUID `json:"id"`
}

// List returns up to limit allocations after cursor, newest first, and the
// next page's cursor (nil at the end).
func (s *Service) List(ctx context.Context, f Filter, after *Cursor, limit int) ([]api.Allocation, *Cursor, error) {
	p := db.ListAllocationsParams{PageLimit: int32(limit + 1)}
	if f.UserID != uuid.Nil {
		p.UserID = uuid.NullUUID{UUID: f.UserID, Valid: true}
	}
	if f.NodeID != uuid.Nil {
		p.NodeID = uuid.NullUUID{UUID: f.NodeID, Valid: true}
	}
	if f.Status != "" {
		if !api.AllocationStatus(f.Status).Valid() {
			return nil, nil, apperr.Invalid("status must be one of %s", statusList())
		}
		p.Status = &f.Status
	}
	if after != nil {
		p.CursorTime, p.CursorID = &after.CreatedAt, uuid.NullUUID{UUID: after.ID, Valid: true}
	}
	rows, err := s.store.ListAllocations(ctx, p)
	if err != nil {
		return nil, nil, fmt.Errorf("list allocations: %w", err)
	}
	var next *Cursor
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[len(rows)-1]
		next = &Cursor{CreatedAt: last.Allocation.CreatedAt, ID: last.Allocation.ID}
	}
	out := make([]api.Allocation, len(rows))
	for i, r := range rows {
		out[i] = ToAPIOnNode(r.Allocation, nodeView(r.NodeHostname, r.NodeStatus, r.NodeSshHost, r.NodeSshPort, r.NodeDrainDeadline, r.NodeDrainReason))
	}
	return out, next, nil
}

// Release is a user giving an allocation back. Another user's is 404; an
// allocation already releasing, released or failed is 409 invalid_state.
func (s *Service) Release(ctx context.Context, userID, id uuid.UUID) (api.Allocation, error) {
	return s.release(ctx, userID, id, userID, "user", false)
}

// ForceRelease releases an allocation from any non-terminal status, for an
// admin (actor) or for billing (actor uuid.Nil, reason balance_depleted).
func (s *Service) ForceRelease(ctx context.Context, actor, id uuid.UUID, reason string) (api.Allocation, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return api.Allocation{}, apperr.Invalid("reason is required")
	}
	if len(reason) > 500 {
		return api.Allocation{}, apperr.Invalid("reason must be at most 500 characters")
	}
	return s.release(ctx, uuid.Nil, id, actor, reason, true)
}

// ForceReleaseIn is ForceRelease inside the caller's transaction tx, for
// a change that releases allocations together with its own (suspending a
// user). reason must be set.
func (s *Service) ForceReleaseIn(ctx context.Context, tx *store.Store, actor, id uuid.UUID, reason string) error {
	_, err := s.releaseIn(ctx, tx, uuid.Nil, id, actor, reason, true, nil)
	return err
}

// ForceReleaseAt force-releases as the system with the release request
// dated at (a drain's deadline): the allocation is charged up to at, not
// up to when this runs.
func (s *Service) ForceReleaseAt(ctx context.Context, id uuid.UUID, reason string, at time.Time) error {
	return s.store.InTx(ctx, func(tx *store.Store) error {
		_, err := s.releaseIn(ctx, tx, uuid.Nil, id, uuid.Nil, reason, true, &at)
		return err
	})
}

func (s *Service) release(ctx context.Context, owner, id, actor uuid.UUID, reason string, force bool) (api.Allocation, error) {
	var out db.Allocation
	err := s.store.InTx(ctx, func(tx *store.Store) error {
		var err error
		out, err = s.releaseIn(ctx, tx, owner, id, actor, reason, force, nil)
		return err
	})
	if err != nil {
		return api.Allocation{}, fmt.Errorf("release allocation: %w", err)
	}
	return ToAPI(out), nil
}

// releaseIn asks for the allocation's release in tx. It reads the row
// locked, so a transition committed meanwhile (the provisioner activating
// it, say) is waited for and judged on, instead of making the release's
// own change miss and refuse a request that is still valid.
func (s *Service) releaseIn(ctx context.Context, tx *store.Store, owner, id, actor uuid.UUID, reason string, force bool, at *time.Time) (db.Allocation, error) {
	row, err := tx.LockAllocation(ctx, db.LockAllocationParams{ID: id, UserID: uuid.NullUUID{UUID: owner, Valid: owner != uuid.Nil}})
	if store.IsNoRows(err) {
		return db.Allocation{}, apperr.NotFound("allocation")
	}
	if err != nil {
		return db.Allocation{}, err
	}
	from := Status(row.Status)
	if force && from == StatusReleasing {
		return row, nil // already on its way out: accepted, nothing to do
	}
	if from.Terminal() || from == StatusReleasing || (!force && !from.userReleasable()) {
		return db.Allocation{}, apperr.Conflict(CodeInvalidState, "allocation is %s and cannot be released", from)
	}
	out, err := s.transition(ctx, tx, row, StatusReleasing, change{
		actor: actor, desired: "released", releaseReason: reason, releaseAt: at,
	})
	if err != nil || !force {
		return out, err
	}
	// A force release is its own audit action besides the transition, so
	// the log can be searched for one by name.
	return out, audit.Record(ctx, tx.Queries, audit.Entry{
		Actor: actor, Action: audit.ActionAllocationForceRelease, TargetType: "allocation", TargetID: id.String(),
		Metadata: map[string]any{"reason": reason, "status_from": string(from), "user_id": row.UserID.String()},
	})
}

// change is what a transition sets besides the status.
type change struct {
	actor         uuid.UUID // uuid.Nil for the system
	desired       string
	observed      string
	failureReason string
	releaseReason string
	// releaseAt backdates a release request (a drain's deadline): charging
	// ends there however late the release runs.
	releaseAt     *time.Time
	resetAttempts bool
	// simulated: the runtime only pretended the step (events say so).
	simulated bool
	// events are stored before the transition's own (a docker
	// allocation's exit, say).
	events []eventRow
	// notes are stored after the transition's own, as storage events
	// (what a provision could not mount), for every runtime.
	notes []string
}

// transition moves row to `to` if the table allows it and nobody changed it
// meanwhile, then frees its GPUs when it no longer holds them, and writes
// the audit row and the outbox event, all in tx.
func (s *Service) transition(ctx context.Context, tx *store.Store, row db.Allocation, to Status, c change) (db.Allocation, error) {
	from := Status(row.Status)
	if !CanTransition(from, to) {
		s.refused.WithLabelValues(string(from), string(to)).Inc()
		return db.Allocation{}, apperr.Conflict(CodeInvalidState, "allocation cannot go from %s to %s", from, to)
	}
	p := db.TransitionAllocationParams{ID: row.ID, FromStatus: string(from), ToStatus: string(to), ResetAttempts: c.resetAttempts}
	p.DesiredState, p.ObservedState = optional(c.desired), optional(c.observed)
	p.FailureReason, p.ReleaseReason = optional(c.failureReason), optional(c.releaseReason)
	p.ReleaseAt = c.releaseAt
	next, err := tx.TransitionAllocation(ctx, p)
	if store.IsNoRows(err) {
		s.refused.WithLabelValues(string(from), string(to)).Inc()
		return db.Allocation{}, apperr.Conflict(CodeInvalidState, "allocation changed concurrently (was %s)", from)
	}
	if err != nil {
		return db.Allocation{}, fmt.Errorf("transition %s→%s: %w", from, to, err)
	}
	settled := false
	if s.cfg.OpenUsage != nil && to == StatusActive && next.ActiveAt != nil {
		if err := s.cfg.OpenUsage(ctx, tx, next.ID, *next.ActiveAt); err != nil {
			return db.Allocation{}, fmt.Errorf("open usage: %w", err)
		}
		settled = true
	}
	if s.cfg.CloseUsage != nil && (to == StatusReleasing || to.Terminal()) {
		// Charging ends at the release request (or, for a lost node, where
		// billing paused), whatever the node does afterwards.
		at := next.StatusChangedAt
		if next.ReleaseRequestedAt != nil {
			at = *next.ReleaseRequestedAt
		}
		if err := s.cfg.CloseUsage(ctx, tx, next.ID, at); err != nil {
			return db.Allocation{}, fmt.Errorf("close usage: %w", err)
		}
		settled = true
	}
	if !to.holdsGPUs() {
		if _, err := tx.FreeGPUs(ctx, row.ID); err != nil {
			return db.Allocation{}, fmt.Errorf("free gpus: %w", err)
		}
	}
	if err := storeEvents(ctx, tx, next, to, c); err != nil {
		return db.Allocation{}, err
	}
	reason := c.failureReason
	if reason == "" {
		reason = c.releaseReason
	}
	if err := s.recordActor(ctx, tx, next, string(from), reason, c.actor, settled); err != nil {
		return db.Allocation{}, err
	}
	s.transitions.WithLabelValues(string(to)).Inc()
	return next, nil
}

func (s *Service) record(ctx context.Context, tx *store.Store, row db.Allocation, from, reason string) error {
	return s.recordActor(ctx, tx, row, from, reason, row.UserID, false)
}

// recordActor writes the audit row and the outbox event of row's status;
// settled says the transition opened or closed the usage window itself.
func (s *Service) recordActor(ctx context.Context, tx *store.Store, row db.Allocation, from, reason string, actor uuid.UUID, settled bool) error {
	meta := map[string]any{"status_from": from, "status_to": row.Status}
	if reason != "" {
		meta["reason"] = reason
	}
	ev := events.Allocation{
		AllocationID: row.ID, UserID: row.UserID, SKUID: row.SkuID, Status: row.Status, From: from,
		Reason: reason, At: row.StatusChangedAt.UTC(), UsageSettled: settled,
	}
	if row.NodeID.Valid {
		ev.NodeID = &row.NodeID.UUID
	}
	out, err := events.Row(s.cfg.Naming, Status(row.Status).eventType(), ev)
	if err != nil {
		return err
	}
	return audit.RecordWithEvent(ctx, tx, audit.Entry{
		Actor: actor, Action: audit.ActionAllocationTransition, TargetType: "allocation", TargetID: row.ID.String(),
		Metadata: meta,
	}, out)
}
