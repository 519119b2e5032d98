package agentgw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/allocation"
)

// Runtime runs allocations on their node's agent: the lifecycle's
// allocation.Runtime for --runtime agent.
type Runtime struct {
	g *Gateway
	// Keys returns the SSH public keys an allocation installs on its node.
	Keys func(ctx context.Context, allocationID uuid.UUID) ([]string, error)
}

// NewRuntime returns a Runtime over g.
func NewRuntime(g *Gateway, keys func(ctx context.Context, allocationID uuid.UUID) ([]string, error)) *Runtime {
	return &Runtime{g: g, Keys: keys}
}

// SetKeys implements allocation.KeySetter: a set_keys task replaces the
// allocation's authorized keys on its node. An agent that predates the task
// says it does not know it; that is not retried (the keys reach such a
// node at the allocation's next provision), only logged.
func (r *Runtime) SetKeys(ctx context.Context, w allocation.Workload, keys []string) error {
	if keys == nil {
		keys = []string{}
	}
	err := r.do(ctx, w.NodeID, agentproto.Task{Kind: agentproto.TaskSetKeys, AllocationID: w.AllocationID.String(),
		GPUUUIDs: w.GPUUUIDs, AuthorizedKeys: keys})
	if err != nil && strings.Contains(err.Error(), agentproto.UnknownTaskKind) {
		slog.WarnContext(ctx, "agent too old to update ssh keys; they apply at its next provision",
			"node_id", w.NodeID, "allocation_id", w.AllocationID)
		return nil
	}
	return err
}

// Provision implements allocation.Runtime.
func (r *Runtime) Provision(ctx context.Context, w allocation.Workload) error {
	_, err := r.ProvisionReport(ctx, w)
	return err
}

// ProvisionReport implements allocation.ReportingRuntime: a pending answer
// carries the pull's progress, and the agent says whether it simulates.
func (r *Runtime) ProvisionReport(ctx context.Context, w allocation.Workload) (allocation.StepReport, error) {
	task := agentproto.Task{Kind: agentproto.TaskProvision, AllocationID: w.AllocationID.String(), GPUUUIDs: w.GPUUUIDs,
		Runtime: w.Runtime, Container: w.Container, StorageNamespace: w.StorageNamespace}
	if r.Keys != nil && w.Runtime != allocation.RuntimeDocker {
		keys, err := r.Keys(ctx, w.AllocationID)
		if err != nil {
			return allocation.StepReport{}, fmt.Errorf("read the owner's ssh keys: %w", err)
		}
		task.AuthorizedKeys = keys
	}
	return r.report(ctx, w.NodeID, task)
}

// Release implements allocation.Runtime.
func (r *Runtime) Release(ctx context.Context, w allocation.Workload) error {
	_, err := r.ReleaseReport(ctx, w)
	return err
}

// ReleaseReport implements allocation.ReportingRuntime.
func (r *Runtime) ReleaseReport(ctx context.Context, w allocation.Workload) (allocation.StepReport, error) {
	return r.report(ctx, w.NodeID, agentproto.Task{Kind: agentproto.TaskRelease, AllocationID: w.AllocationID.String(), GPUUUIDs: w.GPUUUIDs,
		Runtime: w.Runtime, StorageNamespace: w.StorageNamespace})
}

func (r *Runtime) do(ctx context.Context, nodeID uuid.UUID, task agentproto.Task) error {
	_, err := r.report(ctx, nodeID, task)
	return err
}

func (r *Runtime) report(ctx context.Context, nodeID uuid.UUID, task agentproto.Task) (allocation.StepReport, error) {
	ctx, cancel := context.WithTimeout(ctx, taskTimeout)
	defer cancel()
	res, err := r.g.Do(ctx, nodeID, task)
	if err != nil {
		return allocation.StepReport{}, err
	}
	rep := allocation.StepReport{Simulated: res.Simulated, Notes: res.Notes}
	if !res.OK && res.Pending {
		return rep, &allocation.PendingError{Note: res.Error, Progress: res.Progress}
	}
	if !res.OK {
		return rep, errors.New("agent: " + res.Error)
	}
	return rep, nil
}
