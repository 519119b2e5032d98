package agent

import (
	"sync"

	"github.com/gpuaas/gpuaas/internal/agentproto"
)

// SimWorkspaces is the shared filesystem of a simulated node: an
// allocation whose provision names a storage namespace gets that
// namespace's directory under Storage.Path as its workspace, and its
// simulated terminal (a shell on the host, as the agent's user) starts
// there with $WORKSPACE set to it. Nothing is mounted or isolated, so a
// simulated node is for development only; the namespace is checked as
// Storage.Dir checks it every time a terminal opens, so a terminal never
// starts in another namespace or outside Path. The zero value, or a nil
// one, gives no workspace. One is shared by the runtimes of one node.
type SimWorkspaces struct {
	Storage Storage

	mu  sync.Mutex
	nss map[string]string // allocation id → storage namespace
}

// NewSimWorkspaces is the workspaces of a simulated node whose shared
// filesystem is s.
func NewSimWorkspaces(s Storage) *SimWorkspaces { return &SimWorkspaces{Storage: s} }

// provision records t's namespace when this node has a shared filesystem,
// making its directory (Storage.Dir); a namespace that Dir refuses fails
// the provision, as on the process runtime.
func (w *SimWorkspaces) provision(t agentproto.Task) error {
	if w == nil || w.Storage.Path == "" || t.StorageNamespace == "" {
		return nil
	}
	if _, err := w.Storage.Dir(t.StorageNamespace); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.nss == nil {
		w.nss = map[string]string{}
	}
	w.nss[t.AllocationID] = t.StorageNamespace
	return nil
}

// release forgets the allocation's workspace.
func (w *SimWorkspaces) release(allocationID string) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.nss, allocationID)
}

// Dir is the workspace directory of the allocation, checked again (see
// Storage.Dir); "" when its provision named no namespace or this node has
// no shared filesystem.
func (w *SimWorkspaces) Dir(allocationID string) (string, error) {
	if w == nil {
		return "", nil
	}
	w.mu.Lock()
	ns := w.nss[allocationID]
	w.mu.Unlock()
	if ns == "" {
		return "", nil
	}
	return w.Storage.Dir(ns)
}

// simWorkspace is the workspace of the allocation's simulated terminal on
// rt, "" when rt is not simulated or the allocation has none.
func simWorkspace(rt NodeRuntime, allocationID string) (string, error) {
	if m, ok := rt.(MultiRuntime); ok {
		for _, r := range []NodeRuntime{m.Process, m.Docker} {
			if s, ok := r.(SimRuntime); ok && s.Workspaces != nil {
				return s.Workspaces.Dir(allocationID)
			}
		}
		return "", nil
	}
	if s, ok := rt.(SimRuntime); ok {
		return s.Workspaces.Dir(allocationID)
	}
	return "", nil
}

// SimTerminalBanner is the first line of an interactive simulated terminal
// with a workspace.
func SimTerminalBanner(workspace string) string {
	return "gpuaas: simulated node: this shell runs on the host as the agent's user, not on a GPU node; " +
		"your storage workspace is " + workspace + " ($WORKSPACE), the working directory\r\n"
}
