package agentgw

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/allocation"
)

// Runtime runs allocations on their node's agent: the lifecycle's
// allocation.Runtime for --runtime agent.
type Runtime struct {
	g *Gateway
	// Keys returns the owner's SSH public keys, installed on the node.
	Keys func(ctx context.Context, userID uuid.UUID) ([]string, error)
}

// NewRuntime returns a Runtime over g.
func NewRuntime(g *Gateway, keys func(ctx context.Context, userID uuid.UUID) ([]string, error)) *Runtime {
	return &Runtime{g: g, Keys: keys}
}

// Provision implements allocation.Runtime.
func (r *Runtime) Provision(ctx context.Context, w allocation.Workload) error {
	task := agentproto.Task{Kind: agentproto.TaskProvision, AllocationID: w.AllocationID.String(), GPUUUIDs: w.GPUUUIDs,
		Runtime: w.Runtime, Container: w.Container}
	if r.Keys != nil && w.Runtime != allocation.RuntimeDocker {
		keys, err := r.Keys(ctx, w.UserID)
		if err != nil {
			return fmt.Errorf("read the owner's ssh keys: %w", err)
		}
		task.AuthorizedKeys = keys
	}
	return r.do(ctx, w.NodeID, task)
}

// Release implements allocation.Runtime.
func (r *Runtime) Release(ctx context.Context, w allocation.Workload) error {
	return r.do(ctx, w.NodeID, agentproto.Task{Kind: agentproto.TaskRelease, AllocationID: w.AllocationID.String(), GPUUUIDs: w.GPUUUIDs,
		Runtime: w.Runtime})
}

func (r *Runtime) do(ctx context.Context, nodeID uuid.UUID, task agentproto.Task) error {
	ctx, cancel := context.WithTimeout(ctx, taskTimeout)
	defer cancel()
	res, err := r.g.Do(ctx, nodeID, task)
	if err != nil {
		return err
	}
	if !res.OK {
		return errors.New("agent: " + res.Error)
	}
	return nil
}
