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

	"github.com/gpuaas/gpuaas/internal/agent/runtime/process"
	"github.com/gpuaas/gpuaas/internal/agentproto"
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
	} else {
		delete(t.running, task.AllocationID)
	}
	return nil
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
type SimRuntime struct{ Delay time.Duration }

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
func (s SimRuntime) Provision(ctx context.Context, _ agentproto.Task) error { return s.wait(ctx) }

// Release implements NodeRuntime.
func (s SimRuntime) Release(ctx context.Context, _ agentproto.Task) error { return s.wait(ctx) }

// SetKeys implements KeySetter: there is no user to give them to.
func (s SimRuntime) SetKeys(ctx context.Context, _ agentproto.Task) error { return s.wait(ctx) }

// ProcessRuntime runs each allocation as a Linux user session (package
// process) with the reserved GPUs pinned in its environment.
type ProcessRuntime struct{ RT *process.Runtime }

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
	return p.RT.Provision(ctx, w)
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

// Release implements NodeRuntime.
func (p ProcessRuntime) Release(ctx context.Context, t agentproto.Task) error {
	w, err := processWorkload(t)
	if err != nil {
		return err
	}
	return p.RT.Release(ctx, w)
}
