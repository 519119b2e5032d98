package allocation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/money"
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

// Funds is a user's position in one currency for a create's runway check.
type Funds struct {
	// RunningBurn is the hourly price of what the user runs or soon will
	// (allocations requested, provisioning or active).
	RunningBurn int64
	// AtLeast is a lower bound of what the user can spend now.
	AtLeast int64
	// Exact is what the user can spend now: their balance less usage
	// accrued and not yet debited. It is called only when AtLeast does not
	// settle the check, and runs in the same transaction.
	Exact func(ctx context.Context) (int64, error)
}

// FundsLocker locks the user's account in a SKU's currency for the rest of
// the create's transaction, so one user's creates are judged one at a
// time, and returns their Funds, in two steps: reads (the lock first) go
// with the create's first reads (store.Store.Together), and funds, given
// the SKU those read, returns what they found.
type FundsLocker func(ctx context.Context, userID uuid.UUID, skuID string) (reads []func(q *db.Queries) error, funds func(tx *store.Store, sku db.Sku) (Funds, error))

// LimitChecker refuses a create of sku by userID that would break one of
// their spend limits (package limits), in two steps so that its first read
// costs no round trip of its own: read goes with the create's first reads
// (store.Store.Together), and check runs inside the create's transaction
// tx, after the funds lock, with what read found.
type LimitChecker func(ctx context.Context, userID uuid.UUID) (read func(q *db.Queries) error, check func(tx *store.Store, sku db.Sku) error)

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

	candidates      *candidateCache
	placementScans  prometheus.Counter
	placementMisses prometheus.Counter
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
	s.candidates = newCandidateCache()
	s.placementScans = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gpuaas_allocation_placement_scans_total",
		Help: "Reads of the fleet for placement candidates (a cached list expired or ran out).",
	})
	s.placementMisses = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gpuaas_allocation_placement_misses_total",
		Help: "Placement tries on a cached candidate node that turned out short (full, taken by a concurrent create, or out of service).",
	})
	if reg != nil {
		reg.MustRegister(s.transitions, s.refused, s.retries, s.placementScans, s.placementMisses)
	}
	return s
}

// CreateRequest is a user's ask for GPUs.
type CreateRequest struct {
	SKUID string
	Name  string
	// Container, when set, runs the allocation on the docker runtime (the
	// launchables layer has checked it); nil is a process (shell)
	// allocation. CreateIn adds the SKU's limits and seals its SecretEnv.
	Container *Spec
	// SSHKeyIDs are the owner's keys to install; nil means all of them,
	// including keys added later, and an empty list none.
	SSHKeyIDs *[]uuid.UUID
	// Account pays for and owns the allocation: a team the caller is in
	// (package teams resolved it), or uuid.Nil for the caller's own.
	Account uuid.UUID
}

// CodeUnknownSSHKey: a create named an SSH key that is not the caller's.
const CodeUnknownSSHKey = "unknown_ssh_key"

// maxSSHKeyIDs bounds ssh_key_ids; a user holds at most this many keys.
const maxSSHKeyIDs = 32

// distinctKeys returns the distinct keys of ids, nil for nil; CreateIn
// refuses any that is not the user's with 400 unknown_ssh_key.
func distinctKeys(ids *[]uuid.UUID) ([]uuid.UUID, error) {
	if ids == nil {
		return nil, nil
	}
	if len(*ids) > maxSSHKeyIDs {
		return nil, apperr.Invalid("ssh_key_ids may name at most %d keys", maxSSHKeyIDs)
	}
	seen := map[uuid.UUID]bool{}
	out := []uuid.UUID{}
	for _, id := range *ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}

// CreateIn places and records a new allocation inside tx, which the caller
// commits (together with its idempotency record). The allocation starts in
// requested with its GPUs reserved; its event wakes the provisioner.
func (s *Service) CreateIn(ctx context.Context, tx *store.Store, userID uuid.UUID, req CreateRequest) (api.Allocation, error) {
	account := userID
	if req.Account != uuid.Nil {
		account = req.Account
	}
	req.Name = strings.TrimSpace(req.Name)
	if req.SKUID == "" {
		return api.Allocation{}, apperr.Invalid("sku_id is required")
	}
	if len(req.Name) > 63 {
		return api.Allocation{}, apperr.Invalid("name must be at most 63 characters")
	}
	keyIDs, err := distinctKeys(req.SSHKeyIDs)
	if err != nil {
		return api.Allocation{}, err
	}
	// What a create reads first goes in one round trip. FOR SHARE on the
	// user (and the team): a suspension or deletion (FOR UPDATE) and this
	// create happen one after the other, never across each other.
	var standing, team db.LockUserStandingRow
	var sku db.Sku
	var keys int64
	var standingErr, teamErr, keysErr, skuErr error
	reads := []func(q *db.Queries) error{
		func(q *db.Queries) error { standing, standingErr = q.LockUserStanding(ctx, userID); return nil },
		func(q *db.Queries) error { sku, skuErr = q.GetSKU(ctx, req.SKUID); return nil },
	}
	if account != userID {
		reads = append(reads, func(q *db.Queries) error { team, teamErr = q.LockUserStanding(ctx, account); return nil })
	}
	var lockFunds func(tx *store.Store, sku db.Sku) (Funds, error)
	if s.cfg.LockFunds != nil {
		// After the standing reads: the same lock order as a suspension's.
		var lock []func(q *db.Queries) error
		lock, lockFunds = s.cfg.LockFunds(ctx, account, req.SKUID)
		reads = append(reads, lock...)
	}
	var checkLimits func(tx *store.Store, sku db.Sku) error
	if s.cfg.CheckLimits != nil {
		// The account's limits: a team's allocation counts against the
		// team's, not the member's.
		var read func(q *db.Queries) error
		read, checkLimits = s.cfg.CheckLimits(ctx, account)
		reads = append(reads, read)
	}
	if len(keyIDs) > 0 {
		reads = append(reads, func(q *db.Queries) error {
			keys, keysErr = q.CountUserSSHKeysByIDs(ctx, db.CountUserSSHKeysByIDsParams{UserID: userID, Ids: keyIDs})
			return nil
		})
	}
	if err := tx.Together(ctx, reads...); err != nil {
		return api.Allocation{}, err
	}
	if standingErr != nil {
		return api.Allocation{}, fmt.Errorf("read user standing: %w", standingErr)
	}
	if standing.SuspendedAt != nil || standing.DeletedAt != nil {
		return api.Allocation{}, apperr.ForbiddenCode(CodeAccountSuspended, "this account is suspended; contact an administrator")
	}
	if teamErr != nil {
		return api.Allocation{}, fmt.Errorf("read team standing: %w", teamErr)
	}
	if account != userID && (team.SuspendedAt != nil || team.DeletedAt != nil) {
		return api.Allocation{}, apperr.ForbiddenCode(CodeAccountSuspended, "this team's account is suspended; contact an administrator")
	}
	if keysErr != nil {
		return api.Allocation{}, fmt.Errorf("check ssh keys: %w", keysErr)
	}
	if int(keys) != len(keyIDs) {
		return api.Allocation{}, apperr.InvalidCode(CodeUnknownSSHKey, "ssh_key_ids names %d key(s) that are not among your SSH keys", len(keyIDs)-int(keys))
	}
	if store.IsNoRows(skuErr) || (skuErr == nil && !sku.Active) {
		return api.Allocation{}, apperr.NotFound("sku")
	}
	if skuErr != nil {
		return api.Allocation{}, fmt.Errorf("get sku: %w", skuErr)
	}
	if lockFunds != nil {
		f, err := lockFunds(tx, sku)
		if err != nil {
			return api.Allocation{}, fmt.Errorf("read balance: %w", err)
		}
		// What already runs burns the same credit: the runway is checked
		// at the total rate, under the account lock taken above, so racing
		// creates are judged one after another. The cheap lower bound
		// admits almost every create; the exact figure settles the rest and
		// is what a refusal reports.
		burn := f.RunningBurn + sku.PricePerHourMinor
		if f.AtLeast < minRunwayCharge(burn, s.cfg.MinRunway) {
			available, err := f.Exact(ctx)
			if err != nil {
				return api.Allocation{}, fmt.Errorf("read balance: %w", err)
			}
			if err := checkRunway(available, burn, s.cfg.MinRunway, sku.Currency); err != nil {
				return api.Allocation{}, err
			}
		}
	}
	if checkLimits != nil {
		if err := checkLimits(tx, sku); err != nil {
			return api.Allocation{}, err
		}
	}
	p := db.PlaceAllocationParams{
		UserID: account, CreatedBy: userID, SkuID: sku.ID, Name: req.Name, PricePerHourMinor: sku.PricePerHourMinor, Currency: sku.Currency,
		SshKeyIds: keyIDs,
		Runtime:   RuntimeProcess,
	}
	if req.Container != nil {
		spec := *req.Container
		spec.VCPU, spec.MemoryMiB = int(sku.Vcpu), sku.MemoryMib
		if len(spec.SecretEnv) > 0 {
			if s.cfg.Secrets == nil {
				return api.Allocation{}, errors.New("a workload with secrets needs a sealer")
			}
			spec.SealedEnv = map[string][]byte{}
			for k, v := range spec.SecretEnv {
				if spec.SealedEnv[k], err = s.cfg.Secrets.Seal([]byte(v), envAAD(k)); err != nil {
					return api.Allocation{}, fmt.Errorf("seal workload env: %w", err)
				}
			}
			spec.SecretEnv = nil
		}
		if p.Workload, err = json.Marshal(spec); err != nil {
			return api.Allocation{}, fmt.Errorf("encode workload: %w", err)
		}
		p.Runtime = RuntimeDocker
	}
	row, err := s.place(ctx, tx, sku, p)
	if err != nil {
		return api.Allocation{}, err
	}
	if err := s.record(ctx, tx, row, "", ""); err != nil {
		return api.Allocation{}, err
	}
	if req.Container != nil {
		// Only a container's life is stored as events; a shell create
		// stays one insert (see Events).
		if _, err := tx.InsertAllocationEvent(ctx, requestedEvent(row, *req.Container)); err != nil {
			return api.Allocation{}, fmt.Errorf("store requested event: %w", err)
		}
	}
	s.transitions.WithLabelValues(string(StatusRequested)).Inc()
	return ToAPI(row), nil
}

// checkRunway refuses a create when available credit does not last runway
// at burnPerHour, with the figures in the error's details.
func checkRunway(available, burnPerHour int64, runway time.Duration, currency string) error {
	need := minRunwayCharge(burnPerHour, runway)
	if available >= need {
		return nil
	}
	return &apperr.Error{Kind: apperr.KindPaymentRequired, Code: CodeInsufficientFunds,
		Message: fmt.Sprintf("%s of credit is needed to run for %s at %s an hour with what you already run; you have %s",
			money.Format(need, currency), runway, money.Format(burnPerHour, currency), money.Format(available, currency)),
		Details: map[string]any{"required_minor": need, "balance_minor": available, "currency": currency,
			"burn_rate_per_hour_minor": burnPerHour, "min_runway_seconds": int64(runway / time.Second)}}
}

// statusList is every status, comma-separated, for error messages.
func statusList() string {
	names := make([]string, len(Statuses))
	for i, st := range Statuses {
		names[i] = string(st)
	}
	return strings.Join(names, ", ")
}

// minRunwayCharge is ceil(price × runway / 1h) in minor units.
func minRunwayCharge(pricePerHour int64, runway time.Duration) int64 {
	secs := int64((runway + time.Second - 1) / time.Second)
	return (pricePerHour*secs + 3599) / 3600
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

func (s *Service) releaseIn(ctx context.Context, tx *store.Store, owner, id, actor uuid.UUID, reason string, force bool, at *time.Time) (db.Allocation, error) {
	row, err := tx.GetAllocation(ctx, db.GetAllocationParams{ID: id, UserID: uuid.NullUUID{UUID: owner, Valid: owner != uuid.Nil}})
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
		if _, err := tx.FreeGPUs(ctx, uuid.NullUUID{UUID: row.ID, Valid: true}); err != nil {
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

// Node is what the read model shows of an allocation's node.
type Node struct {
	Hostname string
	Status   string // online or offline
	SSHHost  string // empty: Hostname
	SSHPort  int    // 0: 22
	// DrainDeadline is set while the node drains for maintenance: when
	// what still runs there is force-released, for DrainReason.
	DrainDeadline *time.Time
	DrainReason   string
}

// nodeView is the node columns of a read query's LEFT JOIN, nil when the
// allocation has no node.
func nodeView(hostname, status, sshHost *string, sshPort pgtype.Int4, drainDeadline *time.Time, drainReason *string) *Node {
	if hostname == nil || status == nil {
		return nil
	}
	n := &Node{Hostname: *hostname, Status: *status, SSHPort: int(sshPort.Int32), DrainDeadline: drainDeadline}
	if sshHost != nil {
		n.SSHHost = *sshHost
	}
	if drainReason != nil {
		n.DrainReason = *drainReason
	}
	return n
}

// ToAPIOnNode renders an allocation row with its node's status, the node's
// drain deadline and reason while it drains and the allocation still holds
// it, and, while the allocation is active, how to log in to it: the node's
// advertised SSH address and the Linux user its runtime created. Without an
// agent (the in-process sim runtime) the node advertises nothing, so the
// connection reads as its hostname and port 22.
func ToAPIOnNode(r db.Allocation, n *Node) api.Allocation {
	a := ToAPI(r)
	if n == nil {
		return a
	}
	st := api.NodeStatus(n.Status)
	a.NodeStatus = &st
	if n.DrainDeadline != nil && !Status(r.Status).Terminal() {
		deadline, reason := *n.DrainDeadline, n.DrainReason
		a.NodeDrainDeadline, a.NodeDrainReason = &deadline, &reason
	}
	if Status(r.Status) == StatusActive && r.Runtime != RuntimeDocker {
		a.Connection = connection(r.ID, *n)
	}
	return a
}

func connection(id uuid.UUID, n Node) *api.Connection {
	host, port := n.SSHHost, n.SSHPort
	if host == "" {
		host = n.Hostname
	}
	if port == 0 {
		port = 22
	}
	user := agentproto.UsernameFor(id)
	cmd := "ssh " + user + "@" + host
	if port != 22 {
		cmd = fmt.Sprintf("ssh -p %d %s@%s", port, user, host)
	}
	return &api.Connection{Host: host, Port: port, Username: user, SshCommand: cmd}
}

// workloadView is what the allocation runs, as its owner asked, without
// secrets: sealed variables and secret params are never shown.
func workloadView(r db.Allocation, spec *Spec) *api.AllocationWorkload {
	w := &api.AllocationWorkload{Launchable: "shell", Runtime: api.AllocationWorkloadRuntime(r.Runtime)}
	if spec == nil {
		return w
	}
	w.Launchable = spec.Launchable
	if spec.Image != "" {
		w.Image = &spec.Image
	}
	if len(spec.Command) > 0 {
		w.Command = &spec.Command
	}
	if len(spec.Env) > 0 {
		w.Env = &spec.Env
	}
	if len(spec.Params) > 0 {
		w.Params = &spec.Params
	}
	if len(spec.Ports) > 0 {
		ports := make([]api.WorkloadPort, len(spec.Ports))
		for i, p := range spec.Ports {
			proto := api.WorkloadPortProtocolHttp
			if p.Protocol == string(api.WorkloadPortProtocolTcp) {
				proto = api.WorkloadPortProtocolTcp
			}
			ports[i] = api.WorkloadPort{Name: p.Name, Port: p.Port, Protocol: &proto}
		}
		w.Ports = &ports
	}
	return w
}

// ToAPI renders an allocation row without its node (see ToAPIOnNode).
func ToAPI(r db.Allocation) api.Allocation {
	var gpus []api.AllocationGPU
	if err := json.Unmarshal(r.Gpus, &gpus); err != nil {
		slog.Warn("allocation gpus unreadable", "allocation_id", r.ID, "err", err)
	}
	if gpus == nil {
		gpus = []api.AllocationGPU{}
	}
	a := api.Allocation{
		Id: r.ID, UserId: r.UserID, Name: r.Name, Status: api.AllocationStatus(r.Status),
		DesiredState: api.AllocationDesiredState(r.DesiredState), SkuId: r.SkuID, Gpus: gpus,
		GpuCount: int(r.GpuCount), PricePerHourMinor: r.PricePerHourMinor, Currency: r.Currency,
		FailureReason: r.FailureReason, ReleaseReason: r.ReleaseReason,
		Attempts: int(r.Attempts), LastError: r.LastError, ReleaseRequestedAt: r.ReleaseRequestedAt,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, ActiveAt: r.ActiveAt, ReleasedAt: r.ReleasedAt,
	}
	if r.NodeID.Valid {
		id := r.NodeID.UUID
		a.NodeId = &id
	}
	if r.SshKeyIds != nil {
		ids := append([]uuid.UUID{}, r.SshKeyIds...)
		a.SshKeyIds = &ids
	}
	if r.CreatedBy.Valid {
		by := r.CreatedBy.UUID
		a.CreatedBy = &by
		if by != r.UserID { // launched by a member for their team
			team := r.UserID
			a.TeamId = &team
		}
	}
	var spec *Spec
	if len(r.Workload) > 0 {
		spec = new(Spec)
		if err := json.Unmarshal(r.Workload, spec); err != nil {
			slog.Warn("allocation workload unreadable", "allocation_id", r.ID, "err", err)
			spec = nil
		}
	}
	a.Workload = workloadView(r, spec)
	apps := appsView(r, spec)
	a.Apps = &apps
	return a
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
