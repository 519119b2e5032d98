package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/hashicorp/yamux"

	"github.com/gpuaas/gpuaas/internal/agent/runtime/docker"
	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/gpu"
	"github.com/gpuaas/gpuaas/sdk"
)

// CredentialFile is where the node credential lives inside the data dir.
const CredentialFile = "node-credential"

// Config is what the agent needs.
type Config struct {
	Server    string // control plane base URL
	JoinToken string // used once, when DataDir holds no credential
	DataDir   string
	// Runtime is what the node reports as its runtime (the first of
	// Runtimes when those are set).
	Runtime string
	// Runtimes are the runtimes announced on hello; empty means [Runtime].
	Runtimes []string
	Version  string
	Hostname string
	// SSHHost and SSHPort are what the node advertises to users for SSH;
	// empty and zero mean the node's hostname and 22.
	SSHHost    string
	SSHPort    int
	Discoverer gpu.Discoverer
	// NodeRuntime runs allocations; nil means SimRuntime.
	NodeRuntime NodeRuntime
	// MaxBackoff caps the wait between reconnects.
	MaxBackoff time.Duration
	// SelfUpdate makes the agent replace its own executable with the
	// control plane's when their versions differ, and re-exec (see
	// Updater). Off for in-process agents.
	SelfUpdate bool
	// Updater, if set, is the template for self-update (tests set Exec,
	// Now, Executable, Deadline); Run fills in the server, credential,
	// data dir and version.
	Updater *Updater
}

// ErrPermanent marks a failure a reconnect cannot fix (revoked
// credential, an agent too old for the server).
var ErrPermanent = errors.New("permanent")

// Run keeps the agent connected until ctx ends or a permanent error.
func Run(ctx context.Context, cfg Config) error {
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.Hostname == "" {
		cfg.Hostname, _ = os.Hostname()
	}
	cred, err := credential(ctx, cfg)
	if err != nil {
		return err
	}
	if cfg.NodeRuntime == nil {
		cfg.NodeRuntime = SimRuntime{}
	}
	if _, ok := cfg.NodeRuntime.(SimRuntime); ok {
		slog.Warn("RUNTIME IS SIM: allocations on this node are simulated, nothing runs on its GPUs")
	} else if m, ok := cfg.NodeRuntime.(MultiRuntime); ok {
		_, simProcess := m.Process.(SimRuntime)
		_, simDocker := m.Docker.(SimRuntime)
		switch {
		case simProcess && simDocker:
			slog.Warn("RUNTIME IS SIM: process and container allocations on this node are simulated, nothing runs on its GPUs and no image is pulled")
		case simProcess:
			slog.Warn("RUNTIME IS SIM for process allocations: they are simulated, nothing runs on the GPUs (containers are real)")
		}
	}
	rt := &tracked{rt: cfg.NodeRuntime, running: map[string]bool{}, poke: make(chan struct{}, 1)}
	if a, ok := cfg.NodeRuntime.(adopter); ok {
		// Containers outlive the agent: report them again at once, and a
		// repeated provision adopts them.
		ids, err := a.Adopt(ctx)
		if err != nil {
			return fmt.Errorf("find the allocations this node runs: %w", err)
		}
		for _, id := range ids {
			rt.running[id] = true
		}
		if len(ids) > 0 {
			slog.Info("adopted running allocations", "count", len(ids))
		}
	}
	if g, ok := cfg.NodeRuntime.(gpuGuard); ok {
		// Before any task: a GPU no allocation holds is open to no one.
		if err := g.LockIdleGPUs(ctx); err != nil {
			return fmt.Errorf("lock the GPUs no allocation holds: %w", err)
		}
	}
	terms := newTerminals(cfg)
	go rt.apps.probeApps(ctx, cfg.NodeRuntime, rt.poke)
	var up *Updater
	if cfg.SelfUpdate {
		up = cfg.Updater
		if up == nil {
			up = &Updater{}
		}
		up.Server, up.Credential, up.DataDir, up.Version = cfg.Server, cred, cfg.DataDir, cfg.Version
		up.Resume()
	}
	backoff := 500 * time.Millisecond
	for {
		var established sessionUp
		err := session(ctx, cfg, cred, rt, terms, up, &established)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrPermanent) {
			return err
		}
		if established.healthy() {
			// It was up for a few heartbeats: whatever ended it (a server
			// restart, a deploy), reconnect as if for the first time. Only
			// failures to connect, and sessions that die at once, back off
			// further; a fleet reconnecting to servers that restart every
			// few minutes would otherwise creep up to MaxBackoff.
			backoff = 500 * time.Millisecond
		}
		// Full jitter, so a fleet that lost the server does not come back in step.
		wait := time.Duration(rand.Int64N(int64(backoff)) + 1)
		slog.Warn("agent connection lost; reconnecting", "err", err, "in", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		backoff = min(backoff*2, cfg.MaxBackoff)
	}
}

// credential loads the node credential, or trades the join token for one
// and keeps it (0600 in a 0700 directory).
func credential(ctx context.Context, cfg Config) (string, error) {
	path := filepath.Join(cfg.DataDir, CredentialFile)
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read node credential %s: %w", path, err)
	}
	if cfg.JoinToken == "" {
		return "", fmt.Errorf("%w: no node credential in %s and no --join-token: ask an admin for one (POST /api/v1/admin/nodes/{id}/join-token)", ErrPermanent, cfg.DataDir)
	}
	joined, err := sdk.New(cfg.Server).AgentJoin(ctx, cfg.JoinToken)
	if err != nil {
		if e, ok := sdk.AsError(err); ok && e.Status == http.StatusUnauthorized {
			return "", fmt.Errorf("%w: join token refused (%s): %s", ErrPermanent, e.Code, e.Message)
		}
		return "", fmt.Errorf("join: %w", err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return "", fmt.Errorf("create data dir: %w", err)
	}
	if err := os.WriteFile(path, []byte(joined.Credential+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("save node credential: %w", err)
	}
	slog.Info("joined the control plane", "node_id", joined.NodeId, "credential_file", path)
	return joined.Credential, nil
}

func connectURL(server string) (string, error) {
	u, err := url.Parse(server)
	if err != nil {
		return "", fmt.Errorf("%w: --server %q: %v", ErrPermanent, server, err)
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("%w: --server must be http(s)://, got %q", ErrPermanent, server)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + agentproto.ConnectPath
	return u.String(), nil
}

// sessionUp is what session saw of a connection that got established.
type sessionUp struct {
	at       time.Time     // when the server acknowledged the hello
	interval time.Duration // the heartbeat interval it asked for
}

// healthy reports whether the session lasted three heartbeat intervals.
func (s sessionUp) healthy() bool {
	return !s.at.IsZero() && time.Since(s.at) >= 3*s.interval
}

// session runs one connection: dial, hello, heartbeats until it breaks.
// established is filled in once the server acknowledges the hello.
func session(ctx context.Context, cfg Config, cred string, rt *tracked, terms *terminals, up *Updater, established *sessionUp) error {
	wsURL, err := connectURL(cfg.Server)
	if err != nil {
		return err
	}
	dialCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	c, resp, err := websocket.Dial(dialCtx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{
		"Authorization":          {"Bearer " + cred},
		agentproto.HeaderVersion: {strconv.Itoa(agentproto.Version)},
	}})
	cancel()
	if err != nil {
		if resp != nil {
			switch resp.StatusCode {
			case http.StatusUnauthorized:
				return fmt.Errorf("%w: the server refused this node's credential (revoked?): join again with a new --join-token after removing %s",
					ErrPermanent, filepath.Join(cfg.DataDir, CredentialFile))
			case http.StatusUpgradeRequired:
				return fmt.Errorf("%w: this agent (protocol %d) is too old for the server: upgrade it", ErrPermanent, agentproto.Version)
			}
		}
		return fmt.Errorf("dial %s: %w", wsURL, err)
	}
	c.SetReadLimit(agentproto.MaxMessage + 64<<10)
	nc := agentproto.Coalesce(websocket.NetConn(ctx, c, websocket.MessageBinary))
	ycfg := agentproto.YamuxConfig(slog.NewLogLogger(slog.Default().Handler(), slog.LevelDebug))
	sess, err := yamux.Client(nc, ycfg)
	if err != nil {
		nc.Close()
		return fmt.Errorf("start session: %w", err)
	}
	defer sess.Close()
	ctrl, err := sess.Open()
	if err != nil {
		return fmt.Errorf("open control stream: %w", err)
	}
	defer ctrl.Close()
	enc, dec := agentproto.NewEncoder(ctrl), agentproto.NewDecoder(ctrl)
	if err := enc.Send(agentproto.Hello{Type: "hello", Version: agentproto.Version, AgentVersion: cfg.Version,
		Hostname: cfg.Hostname, Runtime: cfg.Runtime, Runtimes: cfg.Runtimes, SSHHost: cfg.SSHHost, SSHPort: cfg.SSHPort}); err != nil {
		return fmt.Errorf("send hello: %w", err)
	}
	typ, raw, err := dec.Next()
	if err != nil || typ != "hello_ack" {
		return fmt.Errorf("read hello ack: %v (got %q)", err, typ)
	}
	var ack agentproto.HelloAck
	if err := json.Unmarshal(raw, &ack); err != nil {
		return fmt.Errorf("agent protocol: hello ack: %w", err)
	}
	interval := time.Duration(ack.HeartbeatInterval)
	if interval <= 0 {
		interval = 10 * time.Second
	}
	slog.Info("connected to the control plane", "node_id", ack.NodeID, "heartbeat", interval, "server_version", ack.ServerVersion)
	*established = sessionUp{at: time.Now(), interval: interval}
	if up != nil {
		up.Connected()
		if ack.ServerVersion != "" && ack.ServerVersion != cfg.Version {
			// Off the heartbeat path: the download takes a while.
			go func() {
				if err := up.Update(ctx, ack.ServerVersion); err != nil {
					slog.Warn("agent: not updating to the server's version", "server_version", ack.ServerVersion, "err", err)
				}
			}()
		}
	}

	// The server opens a stream per task.
	go func() {
		for {
			stream, err := sess.Accept()
			if err != nil {
				return // the session is gone; the loop below sees it too
			}
			go serveTask(ctx, stream, rt, terms, func() agentproto.Heartbeat { return heartbeat(ctx, cfg, rt, 0) })
		}
	}()
	// A closed session ends the read loop; that is how a dead server is seen.
	closed := make(chan error, 1)
	go func() {
		for {
			if _, _, err := dec.Next(); err != nil {
				closed <- err
				return
			}
		}
	}()
	var seq uint64
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		seq++
		hb := heartbeat(ctx, cfg, rt, seq)
		if err := enc.Send(hb); err != nil {
			return fmt.Errorf("send heartbeat: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-closed:
			return fmt.Errorf("control stream closed: %w", err)
		case <-t.C:
		case <-rt.poke: // an app's readiness changed: say so now
		}
	}
}

// busyDiscoverer is a Discoverer whose answer depends on which GPUs an
// allocation holds: the simulated GPUs of gpuaas dev (gpu.Simulated), so
// their utilisation follows what runs on them.
type busyDiscoverer interface {
	DiscoverBusy(ctx context.Context, busy map[string]bool) (gpu.Inventory, error)
}

// heartbeat builds one report from a fresh discovery and the allocations
// rt runs.
func heartbeat(ctx context.Context, cfg Config, rt *tracked, seq uint64) agentproto.Heartbeat {
	hb := agentproto.Heartbeat{Type: "heartbeat", Seq: seq, AgentVersion: cfg.Version, GPUs: []agentproto.GPU{},
		Allocations: rt.list(), Apps: rt.apps.get(), SentAt: time.Now().UTC()}
	if e, ok := rt.rt.(exitReporter); ok {
		exited, err := e.Exited(ctx)
		if err != nil {
			slog.Warn("agent: list stopped workloads", "err", err)
		}
		hb.Exited = exited
	}
	if cfg.Discoverer == nil {
		hb.GPUNote = "no GPU discovery configured"
		return hb
	}
	var inv gpu.Inventory
	var err error
	if sim, ok := cfg.Discoverer.(busyDiscoverer); ok {
		inv, err = sim.DiscoverBusy(ctx, rt.busyGPUs())
	} else {
		inv, err = cfg.Discoverer.Discover(ctx)
	}
	if err != nil {
		hb.GPUNote = "discovery failed: " + err.Error()
		return hb
	}
	hb.GPUNote = inv.Note
	for _, d := range inv.GPUs {
		hb.GPUs = append(hb.GPUs, reportGPU(d))
	}
	return hb
}

// reportGPU is one discovered device as a heartbeat carries it: identity
// and health, and the telemetry sampled this heartbeat.
func reportGPU(d gpu.Device) agentproto.GPU {
	return agentproto.GPU{Index: d.Index, UUID: d.UUID, Model: d.Name, MemoryMiB: d.MemoryTotalMiB,
		Health: d.Health, HealthReasons: d.HealthReasons, Utilization: d.UtilizationGPUPercent, TemperatureC: d.TemperatureC,
		MemoryUsedMiB: d.MemoryUsedMiB, PowerW: d.PowerDrawW, ECCCorrected: d.ECC.VolatileCorrected,
		ECCUncorrected: d.ECC.VolatileUncorrected, XidEvents: len(d.Xids)}
}

// serveTask runs one task the server sent on its own stream and answers;
// a terminal stream goes to the PTY handler instead.
func serveTask(ctx context.Context, stream net.Conn, rt *tracked, terms *terminals, probe func() agentproto.Heartbeat) {
	defer stream.Close()
	// Read the header line alone: on a terminal stream raw frames follow it.
	raw, err := agentproto.ReadLine(stream)
	var head struct {
		Type string `json:"type"`
	}
	if err == nil {
		err = json.Unmarshal(raw, &head)
	}
	if err == nil {
		switch head.Type {
		case agentproto.StreamTerminal:
			terms.serveTerminal(stream, raw)
			return
		case agentproto.StreamApp:
			serveApp(ctx, stream, raw, rt.rt)
			return
		}
	}
	if err == nil && head.Type == agentproto.StreamSSH {
		terms.ssh.serve(stream, raw)
		return
	}
	if err == nil && head.Type == agentproto.StreamLogs {
		serveLogs(ctx, stream, raw, rt.rt)
		return
	}
	if err != nil || head.Type != "task" {
		slog.Warn("agent: bad task stream", "type", head.Type, "err", err)
		return
	}
	var task agentproto.Task
	if err := json.Unmarshal(raw, &task); err != nil {
		slog.Warn("agent: malformed task", "err", err)
		return
	}
	res := agentproto.TaskResult{Type: "task_result", ID: task.ID, OK: true, Simulated: simulates(rt.rt, task)}
	if task.Kind == agentproto.TaskProbe {
		hb := probe()
		res.Heartbeat = &hb
		_ = agentproto.NewEncoder(stream).Send(res)
		return
	}
	if err := rt.run(ctx, task); errors.Is(err, docker.ErrPulling) {
		res.OK, res.Pending, res.Error = false, true, err.Error()
		var pe *docker.PullingError
		if errors.As(err, &pe) {
			res.Progress = &agentproto.PullProgress{Image: pe.Progress.Image, BytesDone: pe.Progress.Current, BytesTotal: pe.Progress.Total}
		}
		slog.Info("agent: task goes on", "kind", task.Kind, "allocation_id", task.AllocationID, "state", err)
	} else if err != nil {
		res.OK, res.Error = false, err.Error()
		slog.Warn("agent: task failed", "kind", task.Kind, "allocation_id", task.AllocationID, "err", err)
	} else {
		slog.Info("agent: task done", "kind", task.Kind, "allocation_id", task.AllocationID)
		if task.Kind == agentproto.TaskProvision {
			res.Notes = provisionNotes(rt.rt, task)
		}
		if task.Kind == agentproto.TaskRelease {
			terms.closeAllocation(task.AllocationID)
		}
	}
	_ = agentproto.NewEncoder(stream).Send(res)
}
