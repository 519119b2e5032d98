package devenv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/agent"
	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/gpu"
	"github.com/gpuaas/gpuaas/internal/nodeauth"
	"github.com/gpuaas/gpuaas/internal/server"
)

// simAgent is one simulated node's agent, run in this process but speaking
// the real protocol over a real connection, so the first look exercises
// the same path as production.
type simAgent struct {
	node    SimNode
	nodeID  uuid.UUID
	dataDir string
	token   string
}

// prepareAgents makes sure each simulated node can join: a node whose
// agent has no credential yet in <data-dir>/agents/<hostname> gets a join
// token.
func prepareAgents(ctx context.Context, app *server.App, dataDir string) ([]simAgent, error) {
	var out []simAgent
	for _, n := range SimNodes() {
		row, err := app.Store.GetNodeByHostname(ctx, n.Hostname)
		if err != nil {
			return nil, fmt.Errorf("find sim node %s: %w", n.Hostname, err)
		}
		a := simAgent{node: n, nodeID: row.ID, dataDir: filepath.Join(dataDir, "agents", n.Hostname)}
		if _, err := os.Stat(filepath.Join(a.dataDir, agent.CredentialFile)); errors.Is(err, os.ErrNotExist) {
			jt, err := app.NodeAuth.IssueJoinToken(ctx, uuid.Nil, row.ID, nodeauth.DefaultJoinTTL)
			if err != nil {
				return nil, err
			}
			a.token = jt.Token
		}
		out = append(out, a)
	}
	return out, nil
}

// simStoragePath is the agents' --storage-path: dev's fs storage root
// (--storage-fs-root, <data-dir>/storage by default), absolute and made
// when missing, so a simulated allocation's terminal starts in its owner's
// namespace there. Empty (no shared filesystem) when dev keeps files
// elsewhere (--storage-config) or the root cannot be made.
func simStoragePath(fsRoot string) string {
	if fsRoot == "" {
		return ""
	}
	p, err := filepath.Abs(fsRoot)
	if err == nil {
		err = os.MkdirAll(p, 0o700)
	}
	if err != nil {
		slog.Warn("sim agents run without a shared filesystem", "storage_fs_root", fsRoot, "err", err)
		return ""
	}
	return p
}

// runAgents starts the agents against baseURL, their nodes' shared
// filesystem at storagePath (see simStoragePath); they stop with ctx, and
// the returned wait blocks until they have.
func runAgents(ctx context.Context, agents []simAgent, baseURL, storagePath string, delay time.Duration) (wait func()) {
	var wg sync.WaitGroup
	for _, a := range agents {
		// One node's process and container halves share its workspaces.
		sim := agent.SimRuntime{Delay: delay, Workspaces: agent.NewSimWorkspaces(agent.Storage{Path: storagePath})}
		inv := gpu.Inventory{DriverVersion: "sim", CUDAVersion: "sim"}
		for _, s := range a.node.GPUSpecs() {
			inv.GPUs = append(inv.GPUs, gpu.Device{Index: s.Index, UUID: s.UUID, Name: s.Model,
				MemoryTotalMiB: s.MemoryMiB, Health: gpu.Healthy, HealthReasons: []string{}})
		}
		wg.Go(func() {
			err := agent.Run(ctx, agent.Config{
				Server: baseURL, JoinToken: a.token, DataDir: a.dataDir, Runtime: "sim",
				Version: server.Version, Hostname: a.node.Hostname, Discoverer: gpu.Simulated{Inventory: inv},
				// Simulated containers too, so the launchables (Jupyter, a
				// custom image) can be tried in a first look; the agent says
				// loudly that both are simulated.
				// Their terminals are shells on this host, started in the
				// owner's storage namespace under storagePath.
				NodeRuntime: agent.MultiRuntime{Process: sim, Docker: sim},
				Runtimes:    []string{agentproto.RuntimeProcess, agentproto.RuntimeDocker},
				MaxBackoff:  5 * time.Second,
			})
			if err != nil {
				slog.Error("sim agent stopped", "node", a.node.Hostname, "err", err)
			}
		})
	}
	return wg.Wait
}
