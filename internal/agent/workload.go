package agent

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/agent/runtime/docker"
	"github.com/gpuaas/gpuaas/internal/agentproto"
)

// readinessEvery is how often the agent probes its workloads' apps; a
// change is reported at once, in an early heartbeat.
const readinessEvery = 3 * time.Second

// logger is a runtime that keeps its workloads' logs.
type logger interface {
	// Logs opens an allocation's stdout and stderr (docker.ErrNoContainer:
	// none here).
	Logs(ctx context.Context, allocationID string, tail int, follow bool) (io.ReadCloser, error)
}

// readinessReporter is a runtime whose workloads serve apps to probe.
type readinessReporter interface {
	Readiness(ctx context.Context) ([]agentproto.AppReadiness, error)
}

// Logs implements logger.
func (d DockerRuntime) Logs(ctx context.Context, allocationID string, tail int, follow bool) (io.ReadCloser, error) {
	id, err := uuid.Parse(allocationID)
	if err != nil {
		return nil, docker.ErrNoContainer
	}
	return d.RT.Logs(ctx, id, tail, follow)
}

// Readiness implements readinessReporter.
func (d DockerRuntime) Readiness(ctx context.Context) ([]agentproto.AppReadiness, error) {
	list, err := d.RT.Readiness(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]agentproto.AppReadiness, 0, len(list))
	for _, r := range list {
		out = append(out, agentproto.AppReadiness{AllocationID: r.AllocationID.String(), Ready: r.Ready})
	}
	return out, nil
}

// simLogLines are what a simulated workload's logs say: that there are none.
const simLogLines = "[simulated] this node is simulated by gpuaas dev; no container runs\n" +
	"[simulated] no image was pulled and nothing writes logs here\n"

// Logs implements logger: a few honest lines, then the end (a follow
// has nothing more to wait for).
func (s SimRuntime) Logs(context.Context, string, int, bool) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader(simLogLines)), nil
}

// Logs implements logger with the docker runtime, the one that keeps logs.
func (m MultiRuntime) Logs(ctx context.Context, allocationID string, tail int, follow bool) (io.ReadCloser, error) {
	if l, ok := m.Docker.(logger); ok {
		return l.Logs(ctx, allocationID, tail, follow)
	}
	return nil, errNoLogs
}

// Readiness implements readinessReporter with the docker runtime.
func (m MultiRuntime) Readiness(ctx context.Context) ([]agentproto.AppReadiness, error) {
	if r, ok := m.Docker.(readinessReporter); ok {
		return r.Readiness(ctx)
	}
	return nil, nil
}

var errNoLogs = errors.New("this node's runtime keeps no logs")

// simulates says whether the runtime that runs task only pretends.
func simulates(rt NodeRuntime, task agentproto.Task) bool {
	if m, ok := rt.(MultiRuntime); ok {
		if task.Runtime == "" && task.Kind == agentproto.TaskRelease {
			_, p := m.Process.(SimRuntime)
			_, d := m.Docker.(SimRuntime)
			return (p || m.Process == nil) && (d || m.Docker == nil)
		}
		picked, err := m.pick(task.Runtime)
		if err != nil {
			return false
		}
		rt = picked
	}
	_, ok := rt.(SimRuntime)
	return ok
}

// serveLogs answers a logs stream: a StreamReply, then the container's
// log lines until they end, or the server closes the stream.
func serveLogs(ctx context.Context, stream net.Conn, raw []byte, rt NodeRuntime) {
	enc := agentproto.NewEncoder(stream)
	var h agentproto.LogsHeader
	if err := json.Unmarshal(raw, &h); err != nil {
		_ = enc.Send(agentproto.StreamReply{Code: agentproto.StreamNotFound, Message: "malformed logs header"})
		return
	}
	l, ok := rt.(logger)
	if !ok {
		_ = enc.Send(agentproto.StreamReply{Code: agentproto.StreamUnsupported, Message: errNoLogs.Error()})
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rc, err := l.Logs(ctx, h.AllocationID, h.Tail, h.Follow)
	switch {
	case errors.Is(err, docker.ErrNoContainer):
		_ = enc.Send(agentproto.StreamReply{Code: agentproto.StreamNotFound, Message: err.Error()})
		return
	case errors.Is(err, errNoLogs):
		_ = enc.Send(agentproto.StreamReply{Code: agentproto.StreamUnsupported, Message: err.Error()})
		return
	case err != nil:
		slog.Warn("agent: open logs", "allocation_id", h.AllocationID, "err", err)
		_ = enc.Send(agentproto.StreamReply{Message: err.Error()})
		return
	}
	defer rc.Close()
	if err := enc.Send(agentproto.StreamReply{OK: true}); err != nil {
		return
	}
	// The server closes its end when its client goes away: that ends a
	// follow here too.
	go func() {
		_, _ = io.Copy(io.Discard, stream)
		cancel()
		rc.Close()
	}()
	_, _ = io.Copy(stream, rc)
}

// apps keeps the last readiness probe's answer for heartbeats.
type apps struct {
	mu     sync.Mutex
	last   []agentproto.AppReadiness
	digest string
}

func (a *apps) get() []agentproto.AppReadiness {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last
}

// probe runs the runtime's readiness probes once and says whether the
// answer changed.
func (a *apps) probe(ctx context.Context, rt NodeRuntime) bool {
	r, ok := rt.(readinessReporter)
	if !ok {
		return false
	}
	list, err := r.Readiness(ctx)
	if err != nil {
		slog.Warn("agent: probe app readiness", "err", err)
		return false
	}
	parts := make([]string, len(list))
	for i, x := range list {
		sort.Strings(x.Ready)
		parts[i] = x.AllocationID + ":" + strings.Join(x.Ready, ",")
	}
	sort.Strings(parts)
	digest := strings.Join(parts, ";")
	a.mu.Lock()
	defer a.mu.Unlock()
	changed := digest != a.digest
	a.last, a.digest = list, digest
	return changed
}

// probeApps probes every readinessEvery until ctx ends, poking on change.
func (a *apps) probeApps(ctx context.Context, rt NodeRuntime, poke chan<- struct{}) {
	if _, ok := rt.(readinessReporter); !ok {
		return
	}
	t := time.NewTicker(readinessEvery)
	defer t.Stop()
	for {
		if a.probe(ctx, rt) {
			select {
			case poke <- struct{}{}:
			default:
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
