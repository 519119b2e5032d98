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

	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/storage"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Worker drives allocations towards their desired state through a Runtime.
// It is level-triggered: an event only says "look at this allocation", and
// Drive acts on what the database says now, so a duplicate, late or lost
// event changes nothing (the reconciler covers lost ones).
type Worker struct {
	svc     *Service
	runtime Runtime
	// StepTimeout bounds one runtime call.
	StepTimeout time.Duration
	// MaxProvisionAttempts is how many times a provision that cannot reach
	// its node is left to the reconciler before it fails.
	MaxProvisionAttempts int
	// PendingPoll is how often a provision that goes on on the node (an
	// image pulling) is asked again, in the background, for up to
	// PendingWait; after that the reconciler drives it again.
	PendingPoll time.Duration
	PendingWait time.Duration

	steps stepBatcher
}

// NewWorker returns a worker for svc's allocations.
func NewWorker(svc *Service, rt Runtime) *Worker {
	return &Worker{svc: svc, runtime: rt, StepTimeout: time.Minute, MaxProvisionAttempts: 3,
		PendingPoll: 2 * time.Second, PendingWait: time.Minute}
}

// EventTypes are the events the worker listens to.
var EventTypes = []string{events.AllocationRequested, events.AllocationReleasing}

// HandleEvent is the consumer handler: it drives the allocation the event
// names.
func (w *Worker) HandleEvent(ctx context.Context, env events.Envelope) error {
	var ev events.Allocation
	if err := json.Unmarshal(env.Data, &ev); err != nil {
		return fmt.Errorf("decode %s event %s: %w", env.Type, env.ID, err)
	}
	if env.Type == events.AllocationRequested {
		// The common case needs no read first: the conditional transition
		// is the check. One that lost (a release came first, another
		// replica took it, a redelivery) does what the status now needs.
		row, err := w.step(ctx, db.Allocation{ID: ev.AllocationID, Status: string(StatusRequested)}, StatusProvisioning, change{})
		if err == nil {
			return w.provision(ctx, row)
		}
		if !apperr.HasCode(err, CodeInvalidState) {
			return err
		}
	}
	return w.Drive(ctx, ev.AllocationID)
}

// Drive does the next step for one allocation: provision a requested one,
// finish a provisioning one, release a releasing or release_failed one.
func (w *Worker) Drive(ctx context.Context, id uuid.UUID) error {
	row, err := w.svc.store.GetAllocation(ctx, db.GetAllocationParams{ID: id})
	if store.IsNoRows(err) {
		slog.WarnContext(ctx, "drive: no such allocation", "allocation_id", id)
		return nil
	}
	if err != nil {
		return fmt.Errorf("get allocation: %w", err)
	}
	switch Status(row.Status) {
	case StatusRequested:
		if row, err = w.step(ctx, row, StatusProvisioning, change{}); err != nil {
			return ignoreLost(err)
		}
		return w.provision(ctx, row)
	case StatusProvisioning:
		return w.provision(ctx, row)
	case StatusReleasing, StatusReleaseFailed:
		return w.release(ctx, row)
	}
	return nil
}

func (w *Worker) provision(ctx context.Context, row db.Allocation) error {
	wl, err := w.provisionWorkload(ctx, row)
	var rep StepReport
	if err == nil {
		rep, err = w.provisionOnce(ctx, wl)
		rep.Notes = append(append([]string(nil), wl.StorageNotes...), rep.Notes...)
	}
	if errors.Is(err, ErrPending) && ctx.Err() == nil {
		// Not a failure: the node is at it (an image pulling), and nothing
		// here needs to wait for it. It is asked again in the background,
		// so a long pull holds no handler that other creates need.
		if n, nerr := w.noteProgress(ctx, row, err); nerr != nil || n == 0 {
			return nerr // moved on meanwhile
		}
		go w.awaitPending(ctx, row, wl)
		return nil
	}
	return w.finishProvision(ctx, row, err, rep)
}

// provisionOnce is one runtime call, bounded by StepTimeout.
func (w *Worker) provisionOnce(ctx context.Context, wl Workload) (StepReport, error) {
	stepCtx, cancel := context.WithTimeout(ctx, w.StepTimeout)
	defer cancel()
	if r, ok := w.runtime.(ReportingRuntime); ok {
		return r.ProvisionReport(stepCtx, wl)
	}
	return w.simReport(), w.runtime.Provision(stepCtx, wl)
}

// simReport is the report of a runtime that reports nothing but may
// simulate.
func (w *Worker) simReport() StepReport {
	sim, ok := w.runtime.(Simulating)
	return StepReport{Simulated: ok && sim.Simulates()}
}

// releaseOnce is one runtime call, bounded by StepTimeout.
func (w *Worker) releaseOnce(ctx context.Context, wl Workload) (StepReport, error) {
	stepCtx, cancel := context.WithTimeout(ctx, w.StepTimeout)
	defer cancel()
	if r, ok := w.runtime.(ReportingRuntime); ok {
		return r.ReleaseReport(stepCtx, wl)
	}
	return w.simReport(), w.runtime.Release(stepCtx, wl)
}

// noteProgress shows a pending provision's progress as last_error, with
// billing not started and no attempt spent, and an image pull's progress
// as a pulling event; 0 rows when it moved on.
func (w *Worker) noteProgress(ctx context.Context, row db.Allocation, pending error) (int64, error) {
	n, err := w.svc.store.NoteProvisionProgress(ctx, db.NoteProvisionProgressParams{ID: row.ID, Note: truncate(pending.Error(), 1000)})
	if err != nil || n == 0 {
		return n, err
	}
	if err := w.svc.notePullEvent(ctx, row, pending); err != nil {
		slog.WarnContext(ctx, "record pull progress", "allocation_id", row.ID, "err", err)
	}
	return n, nil
}

// awaitPending asks the node again every PendingPoll until the provision
// is done or failed, for up to PendingWait; after that (or a shutdown) the
// allocation waits, provisioning, for the reconciler.
func (w *Worker) awaitPending(ctx context.Context, row db.Allocation, wl Workload) {
	began := time.Now()
	for {
		t := time.NewTimer(w.PendingPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		rep, err := w.provisionOnce(ctx, wl)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, ErrPending) {
			if n, nerr := w.noteProgress(ctx, row, err); nerr != nil || n == 0 || time.Since(began) >= w.PendingWait {
				return
			}
			continue
		}
		rep.Notes = append(append([]string(nil), wl.StorageNotes...), rep.Notes...)
		if err := w.finishProvision(ctx, row, err, rep); err != nil {
			slog.Warn("finish a provision that was pending", "allocation_id", row.ID, "err", err)
		}
		return
	}
}

// finishProvision records what a provision came to: active, failed, or
// (its agent away) an attempt to retry.
func (w *Worker) finishProvision(ctx context.Context, row db.Allocation, err error, rep StepReport) error {
	if ctx.Err() != nil {
		return ctx.Err() // shutting down: the event is redelivered
	}
	if errors.Is(err, ErrNodeUnreachable) && int(row.Attempts) < w.MaxProvisionAttempts {
		// The agent is reconnecting (a restart on either side): wait for
		// it; it is driven again when it reports in, or by the reconciler,
		// which fails it after its attempts.
		return w.retryLater(ctx, row, "provision: "+err.Error())
	}
	if err != nil {
		_, terr := w.step(ctx, row, StatusFailed, change{failureReason: "provision: " + err.Error(), observed: "failed"})
		return ignoreLost(terr)
	}
	_, err = w.step(ctx, row, StatusActive, change{observed: "running", resetAttempts: true, simulated: rep.Simulated, notes: rep.Notes})
	return ignoreLost(err)
}

func (w *Worker) release(ctx context.Context, row db.Allocation) error {
	rep, err := w.releaseOnce(ctx, workload(row))
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		// Not a dead end: the release stays asked for and the reconciler
		// tries again after a backoff, or as soon as the node's agent
		// reports in (ReconcileNode). Past the release deadline it shows as
		// release_failed, an alarm, and is still retried.
		return w.retryLater(ctx, row, "release: "+err.Error())
	}
	_, err = w.step(ctx, row, StatusReleased, change{observed: "stopped", simulated: rep.Simulated})
	return ignoreLost(err)
}

// retryLater records a failed attempt of row's current step (its count,
// its error, and when to try next) without changing its status.
func (w *Worker) retryLater(ctx context.Context, row db.Allocation, lastError string) error {
	backoff := w.svc.backoff(int(row.Attempts) + 1)
	_, err := w.svc.store.RecordAllocationFailure(ctx, db.RecordAllocationFailureParams{
		ID: row.ID, Status: row.Status, LastError: truncate(lastError, 1000),
		Backoff: interval(backoff),
	})
	if store.IsNoRows(err) {
		return nil // it moved on meanwhile
	}
	if err != nil {
		return fmt.Errorf("record failed attempt: %w", err)
	}
	w.svc.retries.WithLabelValues(row.Status).Inc()
	slog.WarnContext(ctx, "allocation step failed; will retry", "allocation_id", row.ID, "status", row.Status,
		"attempt", row.Attempts+1, "retry_in", backoff, "err", lastError)
	return nil
}

// truncate cuts s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// step runs one transition: a provisioning step in a batch with the
// others committing at the same moment (stepBatcher), any other in its
// own transaction.
func (w *Worker) step(ctx context.Context, row db.Allocation, to Status, c change) (db.Allocation, error) {
	if batched(to) {
		return w.stepBatched(ctx, row, to, c)
	}
	return w.stepAlone(ctx, row, to, c)
}

// stepAlone runs one transition in its own transaction.
func (w *Worker) stepAlone(ctx context.Context, row db.Allocation, to Status, c change) (db.Allocation, error) {
	var next db.Allocation
	err := w.svc.store.InTx(ctx, func(tx *store.Store) error {
		var err error
		next, err = w.svc.transition(ctx, tx, row, to, c)
		return err
	})
	return next, err
}

// ignoreLost turns "someone else moved it first" into success: the worker
// lost a race (a release arrived, another replica finished), and whatever
// happens next is driven by that change's own event.
func ignoreLost(err error) error {
	if apperr.HasCode(err, CodeInvalidState) {
		slog.Info("allocation moved on concurrently; step dropped", "err", err)
		return nil
	}
	return err
}

// provisionWorkload is what the runtime needs to provision row: for a container,
// its spec with the sealed variables opened (in memory only, on their
// way to the node).
func (w *Worker) provisionWorkload(ctx context.Context, row db.Allocation) (Workload, error) {
	wl := workload(row)
	if w.svc.cfg.StorageMounted != nil {
		mounted, note, err := w.svc.cfg.StorageMounted(ctx, row.NodeID.UUID)
		if err != nil {
			return wl, fmt.Errorf("look up the region's storage: %w", err)
		}
		if !mounted {
			wl.StorageNamespace = ""
			if note != "" {
				wl.StorageNotes = []string{note}
			}
		}
	}
	if row.Runtime == RuntimeDocker && len(row.Workload) > 0 {
		var spec Spec
		if err := json.Unmarshal(row.Workload, &spec); err != nil { // written by CreateIn
			return wl, fmt.Errorf("read the allocation's workload: %w", err)
		}
		env := map[string]string{}
		for k, v := range spec.Env {
			env[k] = v
		}
		for k, sealed := range spec.SealedEnv {
			if w.svc.cfg.Secrets == nil {
				return wl, errors.New("the workload has sealed variables and this control plane no sealer")
			}
			v, err := w.svc.cfg.Secrets.Open(sealed, envAAD(k))
			if err != nil {
				return wl, fmt.Errorf("open the workload's sealed %s: %w", k, err)
			}
			env[k] = string(v)
		}
		wl.Container = &agentproto.Container{Image: spec.Image, Command: spec.Command, Env: env, Ports: spec.Ports,
			VCPU: spec.VCPU, MemoryMiB: spec.MemoryMiB}
		if w.svc.cfg.Health != nil {
			wl.Container.Health = w.svc.cfg.Health(spec.Launchable)
		}
	}
	return wl, nil
}

// WorkloadOf is what a runtime needs to know of an allocation row to
// release it or set its keys: no container, whose secrets stay sealed.
func WorkloadOf(row db.Allocation) Workload { return workload(row) }

func workload(row db.Allocation) Workload {
	var gpus []placedGPU
	_ = json.Unmarshal(row.Gpus, &gpus) // written by CreateIn
	uuids := make([]string, len(gpus))
	for i, g := range gpus {
		uuids[i] = g.UUID
	}
	return Workload{AllocationID: row.ID, UserID: row.UserID, NodeID: row.NodeID.UUID, GPUUUIDs: uuids, Runtime: row.Runtime,
		StorageNamespace: storage.UserNamespace(row.UserID)}
}

// ReportExits records workloads that a node reports stopped on their own
// (a container that exited or was OOM-killed): an allocation still active
// there fails with the exit code and OOM flag as its reason, which ends
// its billing and frees its GPUs, and its workload is then released on
// the node (the agent kept the stopped container until now, so the
// reason could be read). A report for anything else changes nothing.
func (w *Worker) ReportExits(ctx context.Context, nodeID uuid.UUID, exits []agentproto.WorkloadExit) error {
	var errs []error
	for _, e := range exits {
		id, err := uuid.Parse(e.AllocationID)
		if err != nil {
			continue
		}
		row, err := w.svc.store.GetAllocation(ctx, db.GetAllocationParams{ID: id})
		if store.IsNoRows(err) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("get allocation: %w", err))
			continue
		}
		if row.NodeID.UUID != nodeID || Status(row.Status) != StatusActive {
			continue
		}
		observed, reason := "exited", fmt.Sprintf("container exited with code %d", e.ExitCode)
		if e.OOMKilled {
			observed, reason = "oom_killed", fmt.Sprintf("container was killed for exceeding its memory limit (OOM), exit code %d", e.ExitCode)
		}
		row, err = w.step(ctx, row, StatusFailed, change{failureReason: reason, observed: observed,
			events: []eventRow{exitEvent(row, e)}})
		if err != nil {
			if err = ignoreLost(err); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		slog.InfoContext(ctx, "workload stopped on its own; allocation failed", "allocation_id", id, "node_id", nodeID, "reason", reason)
		stepCtx, cancel := context.WithTimeout(ctx, w.StepTimeout)
		if err := w.runtime.Release(stepCtx, workload(row)); err != nil {
			slog.WarnContext(ctx, "release stopped workload", "allocation_id", id, "err", err)
		} else if _, err := w.svc.store.InsertAllocationEvent(ctx, eventRow{AllocationID: id, Kind: EventRemoved,
			Message: "Container and its network removed"}); err != nil {
			slog.WarnContext(ctx, "record removed event", "allocation_id", id, "err", err)
		}
		cancel()
	}
	return errors.Join(errs...)
}

// ReconcileNode squares what a node's agent reports running with what the
// database wants there, after a reconnect or whenever the report changes:
// a workload the agent still runs for an allocation that is released,
// failed or unknown is released on the node; an active allocation the
// agent does not run (it rebooted, say) is provisioned again.
func (w *Worker) ReconcileNode(ctx context.Context, nodeID uuid.UUID, running []uuid.UUID) error {
	reported := map[uuid.UUID]bool{}
	for _, id := range running {
		reported[id] = true
	}
	known, err := w.svc.store.ListAllocationsByIDs(ctx, running)
	if err != nil {
		return fmt.Errorf("read reported allocations: %w", err)
	}
	byID := map[uuid.UUID]db.Allocation{}
	for _, row := range known {
		byID[row.ID] = row
	}
	for _, id := range running {
		row, ok := byID[id]
		if ok && row.NodeID.UUID == nodeID && Status(row.Status).holdsGPUs() {
			continue
		}
		slog.Warn("node runs a workload it should not; releasing it", "node_id", nodeID, "allocation_id", id)
		if err := w.runtime.Release(ctx, Workload{AllocationID: id, NodeID: nodeID}); err != nil {
			slog.Warn("release stale workload", "node_id", nodeID, "allocation_id", id, "err", err)
		}
	}
	// Releases that waited for this agent go now, instead of at their next
	// backoff.
	pending, err := w.svc.store.ListNodePendingReleases(ctx, uuid.NullUUID{UUID: nodeID, Valid: true})
	if err != nil {
		return fmt.Errorf("read the node's pending releases: %w", err)
	}
	for _, row := range pending {
		// Each on its own: a release that hangs on the node must not hold
		// up the others, nor the rest of this reconcile.
		go func() {
			if err := w.release(context.WithoutCancel(ctx), row); err != nil {
				slog.Warn("release on reconnect", "node_id", nodeID, "allocation_id", row.ID, "err", err)
			}
		}()
	}
	// So do provisions that found the agent away (created while it was
	// reconnecting), instead of at the reconciler's deadline.
	waiting, err := w.svc.store.ListNodeWaitingProvisions(ctx, uuid.NullUUID{UUID: nodeID, Valid: true})
	if err != nil {
		return fmt.Errorf("read the node's waiting provisions: %w", err)
	}
	for _, row := range waiting {
		go func() {
			if err := w.provision(context.WithoutCancel(ctx), row); err != nil {
				slog.Warn("provision on reconnect", "node_id", nodeID, "allocation_id", row.ID, "err", err)
			}
		}()
	}
	active, err := w.svc.store.ListNodeActiveAllocations(ctx, uuid.NullUUID{UUID: nodeID, Valid: true})
	if err != nil {
		return fmt.Errorf("read the node's active allocations: %w", err)
	}
	for _, row := range active {
		if reported[row.ID] {
			continue
		}
		slog.Warn("node lost an active workload; provisioning it again", "node_id", nodeID, "allocation_id", row.ID)
		wl, err := w.provisionWorkload(ctx, row)
		if err == nil {
			err = w.runtime.Provision(ctx, wl)
		}
		if err != nil {
			slog.Warn("re-provision lost workload", "node_id", nodeID, "allocation_id", row.ID, "err", err)
		}
	}
	return nil
}
