package allocation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Event kinds, as GET /api/v1/allocations/{id}/events shows them.
const (
	EventRequested = "requested"
	EventPulling   = "pulling"
	EventPulled    = "pulled"
	EventCreated   = "created"
	EventStarted   = "started"
	EventHealthy   = "healthy"
	EventUnhealthy = "unhealthy"
	EventExited    = "exited"
	EventOOMKilled = "oom_killed"
	EventFailed    = "failed"
	EventReleasing = "releasing"
	EventRemoved   = "removed"
	// EventStorage is a note on the allocation's workspace: the owner's
	// storage was not mounted at /workspace, and why.
	EventStorage = "storage"
)

// pullEventEvery bounds how often a pull's progress is stored: the
// provisioner asks a pulling node every PendingPoll.
const pullEventEvery = 5 * time.Second

// simNote ends the messages of what the sim runtime only pretends.
const simNote = " (gpuaas dev runs no containers)"

// PendingError is a runtime's ErrPending with what the node said of it:
// Note in words and, for an image pull, its progress.
type PendingError struct {
	Note     string
	Progress *agentproto.PullProgress
}

func (e *PendingError) Error() string { return ErrPending.Error() + ": " + e.Note }

// Unwrap makes errors.Is(err, ErrPending) hold.
func (e *PendingError) Unwrap() error { return ErrPending }

// StepReport is what a runtime says of a step besides its error.
type StepReport struct {
	// Simulated: nothing ran (the sim runtime of gpuaas dev); events say so.
	Simulated bool
	// Notes are the node's words on a provision that succeeded (what it
	// could not mount), stored as storage events.
	Notes []string
}

// ReportingRuntime is a Runtime that reports more of its steps than an
// error; the worker uses it where it can, so events can be honest.
type ReportingRuntime interface {
	ProvisionReport(ctx context.Context, w Workload) (StepReport, error)
	ReleaseReport(ctx context.Context, w Workload) (StepReport, error)
}

// Simulating is a runtime that only pretends (the in-process Sim): the
// events of every step it does say so. A separate method rather than a
// ReportingRuntime so that a test runtime embedding Sim and overriding
// Provision is still called.
type Simulating interface {
	Simulates() bool
}

// AppReady says whether the port (a workload port's name) of row's
// workload passes its readiness probe now, as its node last reported; only
// an active allocation's apps are ever ready.
func AppReady(row db.Allocation, port string) bool {
	return Status(row.Status) == StatusActive && slices.Contains(row.AppsReady, port)
}

// eventRow is one event to store with a transition.
type eventRow = db.InsertAllocationEventParams

// lifecycleEvents are the events a docker allocation's transition to `to`
// stores, after c's own.
func lifecycleEvents(row db.Allocation, to Status, c change) []eventRow {
	ev := func(kind, msg string) eventRow { return eventRow{AllocationID: row.ID, Kind: kind, Message: msg} }
	sim := func(msg string) string {
		if c.simulated {
			return "Simulated: " + strings.ToLower(msg[:1]) + msg[1:] + simNote
		}
		return msg
	}
	switch to {
	case StatusActive:
		return []eventRow{ev(EventCreated, sim("Container created")), ev(EventStarted, sim("Container started"))}
	case StatusFailed:
		return []eventRow{ev(EventFailed, "Failed: "+row.FailureReason)}
	case StatusReleasing:
		msg := "Release requested"
		if row.ReleaseReason != "" && row.ReleaseReason != "user" {
			msg += ": " + row.ReleaseReason
		}
		return []eventRow{ev(EventReleasing, msg)}
	case StatusReleased:
		return []eventRow{ev(EventRemoved, sim("Container and its network removed"))}
	}
	return nil
}

// storeEvents writes a docker allocation's events of a transition in tx:
// c's own (an exit) first, then the lifecycle's. Shell allocations store
// none (their events are derived from the row when read).
func storeEvents(ctx context.Context, tx *store.Store, next db.Allocation, to Status, c change) error {
	if next.Runtime != RuntimeDocker {
		return storeNotes(ctx, tx, next, c)
	}
	if to == StatusActive {
		if _, err := tx.InsertPulledEvent(ctx, db.InsertPulledEventParams{AllocationID: next.ID, Message: "Image pulled"}); err != nil {
			return fmt.Errorf("store pulled event: %w", err)
		}
	}
	for _, e := range append(append([]eventRow(nil), c.events...), lifecycleEvents(next, to, c)...) {
		if _, err := tx.InsertAllocationEvent(ctx, e); err != nil {
			return fmt.Errorf("store %s event: %w", e.Kind, err)
		}
	}
	return storeNotes(ctx, tx, next, c)
}

// storeNotes stores c's notes as storage events, for any runtime: a shell
// allocation's events are otherwise derived from its row, and these are
// merged into them when read.
func storeNotes(ctx context.Context, tx *store.Store, next db.Allocation, c change) error {
	for _, n := range c.notes {
		if _, err := tx.InsertAllocationEvent(ctx, eventRow{AllocationID: next.ID, Kind: EventStorage, Message: truncate(n, 1000)}); err != nil {
			return fmt.Errorf("store storage event: %w", err)
		}
	}
	return nil
}

// requestedEvent is a new docker allocation's first event.
func requestedEvent(row db.Allocation, spec Spec) eventRow {
	msg := "Requested " + spec.Launchable
	if spec.Image != "" {
		msg += " (image " + spec.Image + ")"
	}
	return eventRow{AllocationID: row.ID, Kind: EventRequested, Message: msg}
}

// exitEvent is the event of a workload that stopped on its own.
func exitEvent(row db.Allocation, e agentproto.WorkloadExit) eventRow {
	code := pgtype.Int4{Int32: int32(e.ExitCode), Valid: true}
	if e.OOMKilled {
		msg := "Killed: out of memory"
		var spec Spec
		if json.Unmarshal(row.Workload, &spec) == nil && spec.MemoryMiB > 0 {
			msg += fmt.Sprintf(" (limit %d MiB)", spec.MemoryMiB)
		}
		return eventRow{AllocationID: row.ID, Kind: EventOOMKilled, Message: msg, ExitCode: code}
	}
	return eventRow{AllocationID: row.ID, Kind: EventExited, Message: fmt.Sprintf("Container exited with code %d", e.ExitCode), ExitCode: code}
}

// pullMessage is a pull's progress in words.
func pullMessage(p agentproto.PullProgress) string {
	if p.BytesTotal <= 0 {
		return "Pulling image " + p.Image
	}
	return fmt.Sprintf("Pulling image %s: %.1f MB of %.1f MB", p.Image, float64(p.BytesDone)/1e6, float64(p.BytesTotal)/1e6)
}

// notePullEvent stores a pending provision's pull progress as a pulling
// event, at most one every pullEventEvery per allocation.
func (s *Service) notePullEvent(ctx context.Context, row db.Allocation, pending error) error {
	var pe *PendingError
	if row.Runtime != RuntimeDocker || !errors.As(pending, &pe) || pe.Progress == nil {
		return nil
	}
	p := db.InsertPullingEventParams{AllocationID: row.ID, Message: pullMessage(*pe.Progress), Every: interval(pullEventEvery)}
	if pe.Progress.BytesTotal > 0 {
		p.BytesDone, p.BytesTotal = &pe.Progress.BytesDone, &pe.Progress.BytesTotal
	}
	if _, err := s.store.InsertPullingEvent(ctx, p); err != nil {
		return fmt.Errorf("store pulling event: %w", err)
	}
	return nil
}

// EventCursor is the position after the last event of a page.
type EventCursor struct {
	ID int64 `json:"id"`
}

// Events lists what happened to userID's allocation id, oldest first:
// up to limit events after the cursor, and the next page's cursor (nil at
// the end). Another user's allocation is 404.
//
// A container allocation's events are stored as they happen. A shell
// allocation stores none (its create path stays one insert); its few
// lifecycle events are derived from the row's timestamps, numbered 1 to 5
// in their order.
func (s *Service) Events(ctx context.Context, userID, id uuid.UUID, after *EventCursor, limit int) ([]api.AllocationEvent, *EventCursor, error) {
	row, err := s.store.GetAllocation(ctx, db.GetAllocationParams{ID: id, UserID: uuid.NullUUID{UUID: userID, Valid: true}})
	if store.IsNoRows(err) {
		return nil, nil, apperr.NotFound("allocation")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("get allocation: %w", err)
	}
	var afterID int64
	if after != nil {
		afterID = after.ID
	}
	var out []api.AllocationEvent
	if row.Runtime != RuntimeDocker {
		stored, err := s.store.ListAllocationEvents(ctx, db.ListAllocationEventsParams{AllocationID: id, PageLimit: 100})
		if err != nil {
			return nil, nil, fmt.Errorf("list allocation events: %w", err)
		}
		for _, e := range derivedEvents(row, stored) {
			if e.Id > afterID {
				out = append(out, e)
			}
		}
	} else {
		rows, err := s.store.ListAllocationEvents(ctx, db.ListAllocationEventsParams{AllocationID: id, AfterID: afterID, PageLimit: int32(limit + 1)})
		if err != nil {
			return nil, nil, fmt.Errorf("list allocation events: %w", err)
		}
		for _, r := range rows {
			e := api.AllocationEvent{Id: r.ID, Kind: r.Kind, Message: r.Message, CreatedAt: r.CreatedAt,
				BytesDone: r.BytesDone, BytesTotal: r.BytesTotal}
			if r.ExitCode.Valid {
				c := int(r.ExitCode.Int32)
				e.ExitCode = &c
			}
			out = append(out, e)
		}
	}
	var next *EventCursor
	if len(out) > limit {
		out = out[:limit]
		next = &EventCursor{ID: out[len(out)-1].Id}
	}
	if out == nil {
		out = []api.AllocationEvent{}
	}
	return out, next, nil
}

// derivedEvents are a shell allocation's lifecycle events, read off its
// row, with the few it stores (storage notes) merged in by time; numbered
// by position, which holds as each is added after the ones before it.
func derivedEvents(row db.Allocation, stored []db.AllocationEvent) []api.AllocationEvent {
	var out []api.AllocationEvent
	add := func(kind, msg string, at *time.Time) {
		if at != nil {
			out = append(out, api.AllocationEvent{Kind: kind, Message: msg, CreatedAt: *at})
		}
	}
	created := row.CreatedAt
	add(EventRequested, "Requested shell", &created)
	add(EventStarted, "Linux account ready", row.ActiveAt)
	add(EventReleasing, "Release requested", row.ReleaseRequestedAt)
	switch Status(row.Status) {
	case StatusFailed:
		add(EventFailed, "Failed: "+row.FailureReason, row.ReleasedAt)
	case StatusReleased:
		add(EventRemoved, "Linux account removed", row.ReleasedAt)
	}
	for _, e := range stored {
		// Stored with the transition to active, whose time the row keeps
		// from another clock: it follows "started" whatever the clocks say.
		at := e.CreatedAt
		if row.ActiveAt != nil && at.Before(*row.ActiveAt) {
			at = *row.ActiveAt
		}
		add(e.Kind, e.Message, &at)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	for i := range out {
		out[i].Id = int64(i + 1)
	}
	return out
}

// ReportApps records which apps of a node's running workloads pass their
// readiness probe, as the node's agent reports them: apps_ready changes
// and a healthy or unhealthy event is stored for each port that flipped.
// A report for an allocation that is not active on that node, or that
// changed nothing, writes nothing.
func (w *Worker) ReportApps(ctx context.Context, nodeID uuid.UUID, apps []agentproto.AppReadiness) error {
	var errs []error
	for _, a := range apps {
		id, err := uuid.Parse(a.AllocationID)
		if err != nil {
			continue
		}
		ready := append([]string{}, a.Ready...)
		sort.Strings(ready)
		err = w.svc.store.InTx(ctx, func(tx *store.Store) error {
			before, err := tx.SetAppsReady(ctx, db.SetAppsReadyParams{AllocationID: id, AppsReady: ready,
				NodeID: uuid.NullUUID{UUID: nodeID, Valid: true}})
			if store.IsNoRows(err) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("set apps ready: %w", err)
			}
			for _, p := range ready {
				if !slices.Contains(before, p) {
					if _, err := tx.InsertAllocationEvent(ctx, eventRow{AllocationID: id, Kind: EventHealthy,
						Message: "App " + p + " is ready"}); err != nil {
						return fmt.Errorf("store healthy event: %w", err)
					}
				}
			}
			for _, p := range before {
				if !slices.Contains(ready, p) {
					if _, err := tx.InsertAllocationEvent(ctx, eventRow{AllocationID: id, Kind: EventUnhealthy,
						Message: "App " + p + " stopped answering its readiness probe"}); err != nil {
						return fmt.Errorf("store unhealthy event: %w", err)
					}
				}
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// CodeNodeUnreachable is the error code of a request that needs the
// allocation's node (its logs) while no replica holds its agent's session.
const CodeNodeUnreachable = "node_unreachable"

// NodeUnreachable is the 503 of a request that needs the node's agent.
func NodeUnreachable() *apperr.Error {
	e := apperr.Unavailable("the allocation's node is not connected; try again when it is back")
	e.Code = CodeNodeUnreachable
	return e
}

// LogsNode is the node whose agent serves id's container logs. Only the
// owner (or, admin true, an admin) sees them: another user's allocation is
// 404; a shell allocation, or one never placed, has no logs (409
// invalid_state).
func (s *Service) LogsNode(ctx context.Context, userID, id uuid.UUID, admin bool) (uuid.UUID, error) {
	p := db.GetAllocationParams{ID: id}
	if !admin {
		p.UserID = uuid.NullUUID{UUID: userID, Valid: true}
	}
	row, err := s.store.GetAllocation(ctx, p)
	if store.IsNoRows(err) {
		return uuid.Nil, apperr.NotFound("allocation")
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("get allocation: %w", err)
	}
	if row.Runtime != RuntimeDocker {
		return uuid.Nil, apperr.Conflict(CodeInvalidState, "a shell allocation has no logs; only a container's are kept")
	}
	if !row.NodeID.Valid {
		return uuid.Nil, apperr.Conflict(CodeInvalidState, "the allocation has no node yet")
	}
	return row.NodeID.UUID, nil
}
