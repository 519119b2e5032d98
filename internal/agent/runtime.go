package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/agent/runtime/docker"
	"github.com/gpuaas/gpuaas/internal/agent/runtime/process"
	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/gpu"
)

// NodeRuntime runs allocations on this host. Both steps are idempotent.
type NodeRuntime interface {
	Provision(ctx context.Context, t agentproto.Task) error
	Release(ctx context.Context, t agentproto.Task) error
}

// KeySetter is a NodeRuntime that can replace a running allocation's
// authorized keys (agentproto.TaskSetKeys). Idempotent like the others.
type KeySetter interface {
	SetKeys(ctx context.Context, t agentproto.Task) error
}

// tracked remembers which allocations this agent runs, for heartbeats.
type tracked struct {
	rt      NodeRuntime
	mu      sync.Mutex
	running map[string]bool
	// gpus are the GPU UUIDs of each running allocation this agent
	// provisioned (an adopted one's are not known), for simulated
	// telemetry.
	gpus map[string][]string
	// apps is the last readiness probe; poke asks for an early heartbeat
	// when it changed.
	apps apps
	poke chan struct{}
}

func (t *tracked) run(ctx context.Context, task agentproto.Task) error {
	var err error
	switch task.Kind {
	case agentproto.TaskProvision:
		err = t.rt.Provision(ctx, task)
	case agentproto.TaskRelease:
		err = t.rt.Release(ctx, task)
	case agentproto.TaskSetKeys:
		ks, ok := t.rt.(KeySetter)
		if !ok {
			return fmt.Errorf("runtime %T cannot update keys", t.rt)
		}
		return ks.SetKeys(ctx, task)
	default:
		return fmt.Errorf("%s %q", agentproto.UnknownTaskKind, task.Kind)
	}
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if task.Kind == agentproto.TaskProvision {
		t.running[task.AllocationID] = true
		if t.gpus == nil {
			t.gpus = map[string][]string{}
		}
		t.gpus[task.AllocationID] = task.GPUUUIDs
	} else {
		delete(t.running, task.AllocationID)
		delete(t.gpus, task.AllocationID)
	}
	return nil
}

// busyGPUs is the set of GPU UUIDs that running allocations hold.
func (t *tracked) busyGPUs() map[string]bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]bool{}
	for id, uuids := range t.gpus {
		if t.running[id] {
			for _, u := range uuids {
				out[u] = true
			}
		}
	}
	return out
}

func (t *tracked) list() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]string, 0, len(t.running))
	for id := range t.running {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// SimRuntime pretends: nothing runs on the GPUs. For `gpuaas dev`, tests
// and scale tests; the agent says so loudly when it uses it. Each step
// takes Delay.
type SimRuntime struct {
	Delay time.Duration
	// Workspaces, when set, gives an allocation whose provision names a
	// storage namespace its directory on the node's shared filesystem,
	// where its simulated terminal starts (see SimWorkspaces). Copies of
	// the runtime share it.
	Workspaces *SimWorkspaces
}

func (s SimRuntime) wait(ctx context.Context) error {
	if s.Delay <= 0 {
		return nil
	}
	t := time.NewTimer(s.Delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Provision implements NodeRuntime.
func (s SimRuntime) Provision(ctx context.Context, t agentproto.Task) error {
	if err := s.wait(ctx); err != nil {
		return err
	}
	return s.Workspaces.provision(t)
}

// Release implements NodeRuntime.
func (s SimRuntime) Release(ctx context.Context, t agentproto.Task) error {
	if err := s.wait(ctx); err != nil {
		return err
	}
	s.Workspaces.release(t.AllocationID)
	return nil
}

// SetKeys implements KeySetter: there is no user to give them to.
func (s SimRuntime) SetKeys(ctx context.Context, _ agentproto.Task) error { return s.wait(ctx) }

// ProcessRuntime runs each allocation as a Linux user session (package
// process) with the reserved GPUs pinned in its environment, and the
// owner's storage namespace at ~/workspace when the node has Storage.
type ProcessRuntime struct {
	RT      *process.Runtime
	Storage Storage
}

func processWorkload(t agentproto.Task) (process.Workload, error) {
	id, err := uuid.Parse(t.AllocationID)
	if err != nil {
		return process.Workload{}, fmt.Errorf("task allocation id: %w", err)
	}
	return process.Workload{AllocationID: id, GPUUUIDs: t.GPUUUIDs, AuthorizedKeys: t.AuthorizedKeys}, nil
}

// Provision implements NodeRuntime.
func (p ProcessRuntime) Provision(ctx context.Context, t agentproto.Task) error {
	w, err := processWorkload(t)
	if err != nil {
		return err
	}
	if w.Workspace, err = p.Storage.workspace(t); err != nil {
		return err
	}
	return p.RT.Provision(ctx, w)
}

// ProvisionNotes implements storageNoter.
func (p ProcessRuntime) ProvisionNotes(t agentproto.Task) []string {
	return p.Storage.ProvisionNotes(t)
}

// SetKeys implements KeySetter. An allocation with no user on this host
// yet (its provision is still on the way) or any more (the host lost it and
// the control plane will provision it again) is left alone: the provision
// that creates the user carries the keys of its moment, and the server
// sends them again once the allocation is active.
func (p ProcessRuntime) SetKeys(ctx context.Context, t agentproto.Task) error {
	w, err := processWorkload(t)
	if err != nil {
		return err
	}
	err = p.RT.SetKeys(ctx, w)
	if errors.Is(err, process.ErrNotProvisioned) {
		slog.Info("agent: keys for an allocation not provisioned here; left to its provision", "allocation_id", t.AllocationID)
		return nil
	}
	return err
}

// Release implements NodeRuntime. The workspace is named again so that
// the release gives its files back to root (see process.Runtime.Release);
// a namespace this node cannot resolve any more is logged, not an error
// that would keep the allocation releasing.
func (p ProcessRuntime) Release(ctx context.Context, t agentproto.Task) error {
	w, err := processWorkload(t)
	if err != nil {
		return err
	}
	if w.Workspace, err = p.Storage.workspace(t); err != nil {
		slog.Warn("agent: release without the workspace", "allocation_id", t.AllocationID, "err", err)
		w.Workspace = ""
	}
	return p.RT.Release(ctx, w)
}

// LockIdleGPUs implements gpuGuard: at start, every GPU device node that
// no allocation holds is made root-only (process.Runtime.LockIdleGPUs).
func (p ProcessRuntime) LockIdleGPUs(ctx context.Context) error {
	p.RT.WarnDriverRecreatesNodes()
	return p.RT.LockIdleGPUs(ctx)
}

// GPUMinors is process.Runtime.GPUMinors from a discovery: each GPU's
// uuid to the minor of its device node. A discovery that found no GPUs
// and says why is an error, so that a provision fails with the reason
// rather than with "not one of this host's GPUs".
func GPUMinors(d gpu.Discoverer) func(ctx context.Context) (map[string]int, error) {
	return func(ctx context.Context) (map[string]int, error) {
		inv, err := d.Discover(ctx)
		if err != nil {
			return nil, err
		}
		if len(inv.GPUs) == 0 && inv.Note != "" {
			return nil, fmt.Errorf("no GPUs found: %s", inv.Note)
		}
		out := make(map[string]int, len(inv.GPUs))
		for _, g := range inv.GPUs {
			out[g.UUID] = g.MinorNumber
		}
		return out, nil
	}
}

// DockerRuntime runs each allocation as a container (package docker),
// with the owner's storage namespace bind-mounted at /workspace when the
// node has Storage.
type DockerRuntime struct {
	RT      *docker.Runtime
	Storage Storage
}

func dockerWorkload(t agentproto.Task) (docker.Workload, error) {
	id, err := uuid.Parse(t.AllocationID)
	if err != nil {
		return docker.Workload{}, fmt.Errorf("task allocation id: %w", err)
	}
	if t.Container == nil {
		return docker.Workload{}, fmt.Errorf("%w: a docker task without a container", docker.ErrInvalid)
	}
	c := t.Container
	w := docker.Workload{AllocationID: id, GPUUUIDs: t.GPUUUIDs, Image: c.Image, Command: c.Command, Env: c.Env,
		VCPU: c.VCPU, MemoryMiB: c.MemoryMiB}
	if c.Health != nil {
		w.Health = &docker.Health{Port: c.Health.Port, Path: c.Health.Path}
	}
	for _, p := range c.Ports {
		// http and tcp (the app's protocol, which the proxy reads) are both
		// published as tcp.
		proto := ""
		if p.Protocol == "udp" {
			proto = "udp"
		}
		w.Ports = append(w.Ports, docker.Port{Name: p.Name, Port: p.Port, Protocol: proto})
	}
	return w, nil
}

// Provision implements NodeRuntime.
func (d DockerRuntime) Provision(ctx context.Context, t agentproto.Task) error {
	w, err := dockerWorkload(t)
	if err != nil {
		return err
	}
	if w.Workspace, err = d.Storage.workspace(t); err != nil {
		return err
	}
	return d.RT.Provision(ctx, w)
}

// ProvisionNotes implements storageNoter.
func (d DockerRuntime) ProvisionNotes(t agentproto.Task) []string { return d.Storage.ProvisionNotes(t) }

// Release implements NodeRuntime.
func (d DockerRuntime) Release(ctx context.Context, t agentproto.Task) error {
	id, err := uuid.Parse(t.AllocationID)
	if err != nil {
		return fmt.Errorf("task allocation id: %w", err)
	}
	return d.RT.Release(ctx, id)
}

// Adopt lists the allocations whose containers are on the engine: after a
// restart the agent reports them again instead of losing them. A stopped
// one is reported too (and as exited), so that the server learns how it
// ended before it releases it, rather than provisioning it afresh.
func (d DockerRuntime) Adopt(ctx context.Context) ([]string, error) {
	list, err := d.RT.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range list {
		out = append(out, s.AllocationID.String())
	}
	return out, nil
}

// Exited implements exitReporter.
func (d DockerRuntime) Exited(ctx context.Context) ([]agentproto.WorkloadExit, error) {
	list, err := d.RT.Exited(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]agentproto.WorkloadExit, 0, len(list))
	for _, s := range list {
		out = append(out, agentproto.WorkloadExit{AllocationID: s.AllocationID.String(), ExitCode: s.ExitCode, OOMKilled: s.OOMKilled})
	}
	return out, nil
}

// storageNoter is a runtime that mounts storage: it says what a provision
// that succeeded could not mount (agentproto.TaskResult.Notes).
type storageNoter interface {
	ProvisionNotes(t agentproto.Task) []string
}

// provisionNotes are rt's notes on task, none for a runtime that mounts no
// storage.
func provisionNotes(rt NodeRuntime, t agentproto.Task) []string {
	if n, ok := rt.(storageNoter); ok {
		return n.ProvisionNotes(t)
	}
	return nil
}

// exitReporter is a runtime whose workloads can stop on their own.
type exitReporter interface {
	Exited(ctx context.Context) ([]agentproto.WorkloadExit, error)
}

// gpuGuard is a runtime that keeps users off GPUs they do not hold and
// must lock the idle ones before it runs any task.
type gpuGuard interface {
	LockIdleGPUs(ctx context.Context) error
}

// adopter is a runtime that can find the allocations it already runs.
type adopter interface {
	Adopt(ctx context.Context) ([]string, error)
}

// MultiRuntime hands each task to the runtime it names. A node offers
// the runtimes that are not nil.
type MultiRuntime struct {
	Process NodeRuntime // ProcessRuntime or SimRuntime
	Docker  NodeRuntime // DockerRuntime
}

func (m MultiRuntime) pick(name string) (NodeRuntime, error) {
	var rt NodeRuntime
	switch name {
	case "", agentproto.RuntimeProcess:
		rt = m.Process
	case agentproto.RuntimeDocker:
		rt = m.Docker
	default:
		return nil, fmt.Errorf("unknown runtime %q", name)
	}
	if rt == nil {
		if name == "" {
			name = agentproto.RuntimeProcess
		}
		return nil, fmt.Errorf("this node has no %s runtime (see the agent's --runtime)", name)
	}
	return rt, nil
}

// Provision implements NodeRuntime.
func (m MultiRuntime) Provision(ctx context.Context, t agentproto.Task) error {
	rt, err := m.pick(t.Runtime)
	if err != nil {
		return err
	}
	return rt.Provision(ctx, t)
}

// ProvisionNotes implements storageNoter with the runtime t names.
func (m MultiRuntime) ProvisionNotes(t agentproto.Task) []string {
	rt, err := m.pick(t.Runtime)
	if err != nil {
		return nil
	}
	return provisionNotes(rt, t)
}

// Release implements NodeRuntime. A release that names no runtime (the
// server's cleanup of a workload it does not know) goes to every runtime:
// each releases what it holds, and what is not there is not an error.
func (m MultiRuntime) Release(ctx context.Context, t agentproto.Task) error {
	if t.Runtime != "" {
		rt, err := m.pick(t.Runtime)
		if err != nil {
			return err
		}
		return rt.Release(ctx, t)
	}
	var errs []error
	for _, rt := range []NodeRuntime{m.Process, m.Docker} {
		if rt != nil {
			errs = append(errs, rt.Release(ctx, t))
		}
	}
	return errors.Join(errs...)
}

// SetKeys implements KeySetter: keys are the process runtime's (a
// container has no login yet), so they go there, and are a no-op on a
// node without it.
func (m MultiRuntime) SetKeys(ctx context.Context, t agentproto.Task) error {
	if ks, ok := m.Process.(KeySetter); ok {
		return ks.SetKeys(ctx, t)
	}
	return nil
}

// Adopt implements adopter over the runtimes that can.
func (m MultiRuntime) Adopt(ctx context.Context) ([]string, error) {
	var out []string
	for _, rt := range []NodeRuntime{m.Process, m.Docker} {
		if a, ok := rt.(adopter); ok {
			ids, err := a.Adopt(ctx)
			if err != nil {
				return nil, err
			}
			out = append(out, ids...)
		}
	}
	return out, nil
}

// LockIdleGPUs implements gpuGuard over the process runtime.
func (m MultiRuntime) LockIdleGPUs(ctx context.Context) error {
	if g, ok := m.Process.(gpuGuard); ok {
		return g.LockIdleGPUs(ctx)
	}
	return nil
}

// Exited implements exitReporter over the runtimes that can.
func (m MultiRuntime) Exited(ctx context.Context) ([]agentproto.WorkloadExit, error) {
	if e, ok := m.Docker.(exitReporter); ok {
		return e.Exited(ctx)
	}
	return nil, nil
}

// processRuntime finds the process runtime in rt, for terminals.
func processRuntime(rt NodeRuntime) (ProcessRuntime, bool) {
	if m, ok := rt.(MultiRuntime); ok {
		rt = m.Process
	}
	p, ok := rt.(ProcessRuntime)
	return p, ok && p.RT != nil
}

// dockerRuntime finds the docker runtime in rt, for terminals and SSH.
func dockerRuntime(rt NodeRuntime) (*docker.Runtime, bool) {
	if m, ok := rt.(MultiRuntime); ok {
		rt = m.Docker
	}
	d, ok := rt.(DockerRuntime)
	return d.RT, ok && d.RT != nil
}
