package allocation

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/agentproto"
)

// ErrNodeUnreachable is a runtime's answer when the node cannot be reached
// now (its agent is not connected): a step that meets it waits and is
// tried again, a provision up to the reconciler's attempts.
var ErrNodeUnreachable = errors.New("node agent is not connected")

// ErrPending is a runtime's answer when the step goes on on the node (a
// container's image still pulling): the allocation stays provisioning,
// unbilled, and the step is asked again shortly; it is not a failure.
var ErrPending = errors.New("in progress on the node")

// Runtimes an allocation can need (agentproto's names).
const (
	RuntimeProcess = agentproto.RuntimeProcess
	RuntimeDocker  = agentproto.RuntimeDocker
)

// Workload is what a runtime needs to know to run or stop an allocation.
type Workload struct {
	AllocationID uuid.UUID
	UserID       uuid.UUID
	NodeID       uuid.UUID
	GPUUUIDs     []string
	// Runtime is the node runtime that runs it; empty on a release of a
	// workload the database does not know (every runtime looks).
	Runtime string
	// Container is a docker allocation's container; nil for process.
	Container *agentproto.Container
	// StorageNamespace is the owner's storage namespace that the node
	// mounts at /workspace (agentproto.Task.StorageNamespace); empty when
	// the region's storage is not a shared filesystem.
	StorageNamespace string
	// StorageNotes are what the control plane itself has to say of the
	// workspace (its region's storage cannot be mounted); stored as
	// storage events with the provision's outcome, never sent to the node.
	StorageNotes []string
}

// Spec is what a container allocation runs, as allocations.workload keeps
// it: the launchable and what it resolved to, with the SKU's limits.
// Secret variables are kept only sealed (SealedEnv, with the master key);
// SecretEnv carries them in memory from the request to the seal.
type Spec struct {
	Launchable string                     `json:"launchable"`
	Image      string                     `json:"image,omitempty"`
	Command    []string                   `json:"command,omitempty"`
	Env        map[string]string          `json:"env,omitempty"`
	Ports      []agentproto.ContainerPort `json:"ports,omitempty"`
	Params     map[string]string          `json:"params,omitempty"`
	SealedEnv  map[string][]byte          `json:"sealed_env,omitempty"`
	SecretEnv  map[string]string          `json:"-"`
	VCPU       int                        `json:"vcpu,omitempty"`
	MemoryMiB  int64                      `json:"memory_mib,omitempty"`
}

// Sealer seals and opens small secrets at rest (the master key's
// AES-GCM, package secrets); aad binds a value to its use.
type Sealer interface {
	Seal(plaintext []byte, aad string) ([]byte, error)
	Open(sealed []byte, aad string) ([]byte, error)
}

// envAAD binds a sealed workload variable to its name.
func envAAD(name string) string { return "gpuaas allocation workload env " + name }

// Runtime makes allocations real. Both steps must be idempotent: the worker
// and the reconciler may call them again after a crash or a timeout.
type Runtime interface {
	Provision(ctx context.Context, w Workload) error
	Release(ctx context.Context, w Workload) error
}

// KeySetter is a Runtime that can replace a running allocation's SSH keys
// (its owner added or deleted one). Idempotent: the same keys again change
// nothing.
type KeySetter interface {
	SetKeys(ctx context.Context, w Workload, keys []string) error
}

// Sim is an in-process runtime for `gpuaas dev` and tests: each step takes
// Delay and fails with probability FailureRate.
type Sim struct {
	Delay       time.Duration
	FailureRate float64

	mu      sync.Mutex
	running map[uuid.UUID]Workload
	keys    map[uuid.UUID][]string
}

// NewSim returns a simulated runtime.
func NewSim(delay time.Duration, failureRate float64) *Sim {
	return &Sim{Delay: delay, FailureRate: failureRate, running: map[uuid.UUID]Workload{}, keys: map[uuid.UUID][]string{}}
}

func (s *Sim) step(ctx context.Context, what string) error {
	if s.Delay > 0 {
		t := time.NewTimer(s.Delay)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	if s.FailureRate > 0 && rand.Float64() < s.FailureRate {
		return fmt.Errorf("sim: %s failed (simulated, rate %.2f)", what, s.FailureRate)
	}
	return nil
}

// Provision implements Runtime.
func (s *Sim) Provision(ctx context.Context, w Workload) error {
	if err := s.step(ctx, "provision"); err != nil {
		return err
	}
	s.mu.Lock()
	s.running[w.AllocationID] = w
	s.mu.Unlock()
	return nil
}

// Simulates implements Simulating: nothing runs, and the allocation's
// events say so.
func (s *Sim) Simulates() bool { return true }

// Release implements Runtime.
func (s *Sim) Release(ctx context.Context, w Workload) error {
	if err := s.step(ctx, "release"); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.running, w.AllocationID)
	delete(s.keys, w.AllocationID)
	s.mu.Unlock()
	return nil
}

// SetKeys implements KeySetter: it records the keys (Keys reads them
// back). Like an agent, it does not refuse an allocation it does not run
// now: after a restart the sim has forgotten what it ran.
func (s *Sim) SetKeys(ctx context.Context, w Workload, keys []string) error {
	if err := s.step(ctx, "set keys"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[w.AllocationID] = append([]string(nil), keys...)
	return nil
}

// Keys returns the keys SetKeys last gave a running allocation, and
// whether it gave any.
func (s *Sim) Keys(id uuid.UUID) ([]string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[id]
	return append([]string(nil), k...), ok
}

// Running reports whether the sim runs the allocation now.
func (s *Sim) Running(id uuid.UUID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.running[id]
	return ok
}
