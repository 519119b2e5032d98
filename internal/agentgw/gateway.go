package agentgw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/hashicorp/yamux"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/httpapi"
	"github.com/gpuaas/gpuaas/internal/inventory"
	"github.com/gpuaas/gpuaas/internal/nodeauth"
	"github.com/gpuaas/gpuaas/internal/prom"
	"github.com/gpuaas/gpuaas/internal/store"
)

// CodeAgentTooOld is the error code for an agent speaking a retired protocol.
const CodeAgentTooOld = "agent_too_old"

// Config tunes the gateway.
type Config struct {
	// HeartbeatInterval is what agents are told to use.
	HeartbeatInterval time.Duration
	// ServerVersion goes into HelloAck.
	ServerVersion string
	// NATS routes tasks between replicas; nil for a single process.
	NATS      *nats.Conn
	Namespace string
	// OnReport, if set, squares the allocations an agent reports running
	// with the database; it runs off the heartbeat path, once per change.
	OnReport func(ctx context.Context, nodeID uuid.UUID, running []uuid.UUID) error
	// OnHello, if set, records an agent's version, advertised SSH address
	// and runtimes when it connects.
	OnHello func(ctx context.Context, nodeID uuid.UUID, hello agentproto.Hello, at time.Time) error
	// OnExit, if set, hears the workloads a node reports stopped on their
	// own (exit code, OOM), off the heartbeat path, once per change.
	OnExit func(ctx context.Context, nodeID uuid.UUID, exits []agentproto.WorkloadExit) error
	// OnApps, if set, hears the readiness of a node's apps whenever it
	// changes (and at a session's first heartbeat), on the heartbeat path
	// like a changed GPU report, so a flip shows at once.
	OnApps func(ctx context.Context, nodeID uuid.UUID, apps []agentproto.AppReadiness) error
	// OnAlive, if set, hears which allocations a node reports running, at
	// the heartbeat that reports them, whenever the report changes or the
	// node comes back (billing resumes there). It runs on the heartbeat
	// path, never behind a slow OnReport.
	OnAlive func(ctx context.Context, nodeID uuid.UUID, running []uuid.UUID, at time.Time) error
	// OnConnect, if set, runs in its own goroutine once an agent's session
	// is in place and can take tasks (SSH keys that changed while it was
	// away are sent again).
	OnConnect func(ctx context.Context, nodeID uuid.UUID)
	// OnGPUs, if set, hears every heartbeat's GPUs (telemetry samples), on
	// the heartbeat path: it must only take them in memory, never write.
	OnGPUs func(nodeID uuid.UUID, gpus []agentproto.GPU, at time.Time)
	// OnGone, if set, hears that this replica no longer holds a node's
	// session (it disconnected, or went offline): its per-GPU series go.
	OnGone func(nodeID uuid.UUID)
	// OnOffline, if set, runs in the transaction that marks a node offline,
	// with the last heartbeat that saw it (billing pauses there).
	OnOffline func(ctx context.Context, tx *store.Store, nodeID uuid.UUID, lastSeen time.Time) error
}

// taskTimeout bounds one task on the agent.
const taskTimeout = 2 * time.Minute

// Gateway serves agent connections.
type Gateway struct {
	cfg   Config
	store *store.Store
	auth  *nodeauth.Service

	// live writes what agents report (inventory is the one writer of
	// nodes and GPUs); the gateway decides what to write when.
	live *inventory.Liveness

	mu    sync.Mutex
	nodes map[uuid.UUID]*nodeState

	// hbCoalesced and hbWritten are gpuaas_agent_heartbeats_total's two
	// results, resolved once: the heartbeat path only increments.
	hbCoalesced, hbWritten prometheus.Counter
	latency                prometheus.Histogram
	connected              prometheus.Gauge
	relayed                *prometheus.CounterVec

	relay relays
}

// nodeState is what this replica last wrote for a node.
type nodeState struct {
	session   *yamux.Session
	routed    *nats.Subscription
	written   time.Time
	gpuDigest string
	// allocDigest is the last allocation report reconciled; reconciling
	// is true while one runs. aliveDigest is the last one OnAlive heard.
	allocDigest string
	reconciling bool
	aliveDigest string
	// heard is when this replica last had a heartbeat from the node, and
	// report the allocations that heartbeat reported running.
	heard  time.Time
	report []string
	// exitDigest is the last report of stopped workloads OnExit heard;
	// exiting is true while it runs.
	exitDigest string
	exiting    bool
	// appsDigest is the last app readiness OnApps recorded.
	appsDigest string
}

// New returns a Gateway. reg may be nil.
func New(st *store.Store, auth *nodeauth.Service, cfg Config, reg prometheus.Registerer) *Gateway {
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = 10 * time.Second
	}
	heartbeats := prom.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gpuaas_agent_heartbeats_total",
		Help: "Agent heartbeats handled, by whether they were written to the database (written, coalesced).",
	}, []string{"result"}))
	return &Gateway{
		cfg: cfg, store: st, auth: auth, nodes: map[uuid.UUID]*nodeState{},
		live:        inventory.NewLiveness(st, events.Naming{Namespace: cfg.Namespace}, inventory.OfflineHook(cfg.OnOffline), reg),
		hbCoalesced: heartbeats.WithLabelValues("coalesced"),
		hbWritten:   heartbeats.WithLabelValues("written"),
		latency: prom.Register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gpuaas_agent_heartbeat_seconds",
			Help:    "Time to handle one agent heartbeat.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		})),
		connected: prom.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gpuaas_agent_sessions",
			Help: "Agent sessions connected to this replica.",
		})),
		relayed: prom.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gpuaas_terminal_relays_total",
			Help: "Terminal streams relayed between replicas, by side (dialed: this replica's client, served: this replica holds the agent).",
		}, []string{"side"})),
	}
}

// Deadline is how long a node may stay silent before it goes offline.
func (g *Gateway) Deadline() time.Duration { return 3 * g.cfg.HeartbeatInterval }

// ServeHTTP accepts an agent's websocket.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := g.serve(w, r); err != nil {
		httpapi.WriteError(w, r, err)
	}
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request) error {
	v, err := strconv.Atoi(r.Header.Get(agentproto.HeaderVersion))
	if err != nil {
		return apperr.Invalid("header %s with the agent protocol version is required", agentproto.HeaderVersion)
	}
	if v < agentproto.MinVersion {
		return &apperr.Error{Kind: apperr.KindUpgradeRequired, Code: CodeAgentTooOld, Message: fmt.Sprintf(
			"agent protocol %d is too old; this server needs %d to %d: upgrade the agent", v, agentproto.MinVersion, agentproto.Version)}
	}
	scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || cred == "" {
		return apperr.Unauthorized(nodeauth.CodeInvalidCredential, "a node credential is required")
	}
	nodeID, err := g.auth.Authenticate(r.Context(), cred)
	if err != nil {
		return err
	}
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return nil // Accept has answered the client
	}
	c.SetReadLimit(agentproto.MaxMessage + 64<<10)
	// The session outlives the request's handler context only as long as
	// the connection does.
	ctx := context.WithoutCancel(r.Context())
	nc := agentproto.Coalesce(websocket.NetConn(ctx, c, websocket.MessageBinary))
	ycfg := agentproto.YamuxConfig(slog.NewLogLogger(slog.Default().Handler(), slog.LevelDebug))
	sess, err := yamux.Server(nc, ycfg)
	if err != nil {
		c.Close(websocket.StatusInternalError, "session")
		return nil
	}
	defer sess.Close()
	// The request's own context ends when the server shuts down (the
	// server tracks this handler); the session ends with it, before the
	// pool closes.
	defer context.AfterFunc(r.Context(), func() { sess.Close() })()
	g.session(ctx, nodeID, sess)
	return nil
}

// session runs one agent connection until it ends.
func (g *Gateway) session(ctx context.Context, nodeID uuid.UUID, sess *yamux.Session) {
	log := slog.With("node_id", nodeID)
	acceptCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	ctrl, err := sess.AcceptStreamWithContext(acceptCtx)
	cancel()
	if err != nil {
		log.Warn("agent opened no control stream", "err", err)
		return
	}
	defer ctrl.Close()
	dec, enc := agentproto.NewDecoder(ctrl), agentproto.NewEncoder(ctrl)
	typ, raw, err := dec.Next()
	if err != nil || typ != "hello" {
		log.Warn("agent did not say hello", "type", typ, "err", err)
		return
	}
	var hello agentproto.Hello
	if err := json.Unmarshal(raw, &hello); err != nil || hello.Version < agentproto.MinVersion {
		log.Warn("agent hello refused", "version", hello.Version, "err", err)
		return
	}
	if err := enc.Send(agentproto.HelloAck{Type: "hello_ack", NodeID: nodeID.String(),
		ServerVersion: g.cfg.ServerVersion, HeartbeatInterval: agentproto.Duration(g.cfg.HeartbeatInterval)}); err != nil {
		return
	}
	if g.cfg.OnHello != nil {
		if err := g.cfg.OnHello(ctx, nodeID, hello, time.Now()); err != nil {
			log.Warn("record agent hello", "err", err)
		}
	}
	g.attach(nodeID, sess)
	defer g.detach(nodeID, sess)
	log.Info("agent connected", "agent_version", hello.AgentVersion, "protocol", hello.Version, "runtime", hello.Runtime, "runtimes", hello.Runtimes)
	g.mu.Lock()
	onConnect := g.cfg.OnConnect
	g.mu.Unlock()
	if onConnect != nil {
		go onConnect(context.WithoutCancel(ctx), nodeID)
	}
	for {
		typ, raw, err := dec.Next()
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				log.Info("agent disconnected", "err", err)
			}
			return
		}
		if typ != "heartbeat" {
			log.Warn("unknown agent message; ignored", "type", typ)
			continue
		}
		var hb agentproto.Heartbeat
		if err := json.Unmarshal(raw, &hb); err != nil {
			log.Warn("malformed heartbeat; ignored", "err", err)
			continue
		}
		start := time.Now()
		if err := g.Heartbeat(ctx, nodeID, hb, start); err != nil {
			log.Warn("record heartbeat", "err", err)
		}
		g.latency.Observe(time.Since(start).Seconds())
	}
}

// attach makes sess the node's session, closing one it replaces (an agent
// that reconnected before the old connection timed out).
func (g *Gateway) attach(nodeID uuid.UUID, sess *yamux.Session) {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.nodes[nodeID]
	if st == nil {
		st = &nodeState{}
		g.nodes[nodeID] = st
	}
	if st.session != nil && st.session != sess {
		st.session.Close()
	} else {
		g.connected.Inc()
	}
	st.session = sess
	st.written = time.Time{} // first heartbeat of a session is always written
	st.allocDigest = "-"     // and reconciled
	st.aliveDigest = "-"
	st.appsDigest = "-"
	if st.routed == nil {
		st.routed = g.serveRouted(nodeID)
	}
}

func (g *Gateway) detach(nodeID uuid.UUID, sess *yamux.Session) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if st := g.nodes[nodeID]; st != nil && st.session == sess {
		st.session = nil
		if g.cfg.OnGone != nil {
			g.cfg.OnGone(nodeID)
		}
		if st.routed != nil {
			_ = st.routed.Unsubscribe()
			st.routed = nil
		}
		g.connected.Dec()
	}
}

// Heartbeat records one heartbeat. The first of a session, and one whose
// GPU report changed, is written at once (with the GPU sync). Any other
// only stamps the node in memory: the flusher writes the stamps of every
// node in one statement every flushEvery, so a quiet fleet of thousands of
// agents costs one UPDATE per flush, not a row per heartbeat.
func (g *Gateway) Heartbeat(ctx context.Context, nodeID uuid.UUID, hb agentproto.Heartbeat, now time.Time) error {
	digest := gpuDigest(hb.GPUs)
	if g.cfg.OnGPUs != nil {
		g.cfg.OnGPUs(nodeID, hb.GPUs, now)
	}
	g.mu.Lock()
	st := g.nodes[nodeID]
	if st == nil {
		st = &nodeState{}
		g.nodes[nodeID] = st
	}
	due := st.written.IsZero()
	changed := digest != st.gpuDigest
	allocs := strings.Join(hb.Allocations, ",")
	reconcile := g.cfg.OnReport != nil && allocs != st.allocDigest && !st.reconciling
	if reconcile {
		st.reconciling = true
	}
	apps := appsDigest(hb.Apps)
	appsChanged := g.cfg.OnApps != nil && apps != st.appsDigest
	// A readiness change is written at once, like a changed GPU report,
	// not left to the batched stamps.
	coalesce := !due && !changed && !appsChanged
	st.heard, st.report = now, hb.Allocations
	exits := exitDigest(hb.Exited)
	reportExits := g.cfg.OnExit != nil && len(hb.Exited) > 0 && exits != st.exitDigest && !st.exiting
	if reportExits {
		st.exiting = true
	}
	g.mu.Unlock()
	if reportExits {
		go g.exited(context.WithoutCancel(ctx), nodeID, hb.Exited, exits)
	}
	if coalesce {
		g.live.Stamp(nodeID, now)
	}
	if reconcile {
		go g.reconcile(context.WithoutCancel(ctx), nodeID, hb.Allocations, allocs)
	}
	if coalesce {
		g.hbCoalesced.Inc()
		return g.alive(ctx, nodeID, st, hb.Allocations, allocs, now)
	}
	var gpus []inventory.GPUReport
	if changed {
		gpus = gpuReports(hb.GPUs)
	}
	cameBack, err := g.live.Record(ctx, nodeID, now, gpus)
	if err != nil {
		return err
	}
	if cameBack {
		g.reportAgain(nodeID)
	}
	g.mu.Lock()
	st.written, st.gpuDigest = now, digest
	g.mu.Unlock()
	g.hbWritten.Inc()
	if appsChanged {
		if err := g.cfg.OnApps(ctx, nodeID, hb.Apps); err != nil {
			return fmt.Errorf("record app readiness: %w", err)
		}
		g.mu.Lock()
		st.appsDigest = apps
		g.mu.Unlock()
	}
	return g.alive(ctx, nodeID, st, hb.Allocations, allocs, now)
}

// alive runs OnAlive when the node's report differs from the last one it
// heard; a failure leaves the digest so the next heartbeat tries again.
func (g *Gateway) alive(ctx context.Context, nodeID uuid.UUID, st *nodeState, reported []string, digest string, at time.Time) error {
	g.mu.Lock()
	due := g.cfg.OnAlive != nil && st.aliveDigest != digest
	g.mu.Unlock()
	if !due {
		return nil
	}
	if err := g.cfg.OnAlive(ctx, nodeID, parseIDs(reported), at); err != nil {
		return fmt.Errorf("report running allocations: %w", err)
	}
	g.mu.Lock()
	st.aliveDigest = digest
	g.mu.Unlock()
	return nil
}

func parseIDs(reported []string) []uuid.UUID {
	ids := make([]uuid.UUID, 0, len(reported))
	for _, s := range reported {
		if id, err := uuid.Parse(s); err == nil {
			ids = append(ids, id)
		}
	}
	return ids
}

// reportAgain makes the node's next heartbeat reconcile its allocation
// report even if unchanged: the node was offline until now, and what it
// runs must be squared again (paused billing resumed, releases driven).
func (g *Gateway) reportAgain(nodeID uuid.UUID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if st := g.nodes[nodeID]; st != nil {
		st.allocDigest, st.aliveDigest = "-", "-"
	}
}

// reconcile runs OnReport for one allocation report; a failure leaves the
// digest unchanged so the next heartbeat tries again.
func (g *Gateway) reconcile(ctx context.Context, nodeID uuid.UUID, reported []string, digest string) {
	err := g.cfg.OnReport(ctx, nodeID, parseIDs(reported))
	if err != nil {
		slog.Warn("reconcile node allocations", "node_id", nodeID, "err", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if st := g.nodes[nodeID]; st != nil {
		st.reconciling = false
		if err == nil {
			st.allocDigest = digest
		}
	}
}

// exited hands a report of stopped workloads to OnExit, off the heartbeat
// path; a report that failed is tried again at the next heartbeat.
func (g *Gateway) exited(ctx context.Context, nodeID uuid.UUID, exits []agentproto.WorkloadExit, digest string) {
	err := g.cfg.OnExit(ctx, nodeID, exits)
	if err != nil {
		slog.Warn("record stopped workloads", "node_id", nodeID, "err", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if st := g.nodes[nodeID]; st != nil {
		st.exiting = false
		if err == nil {
			st.exitDigest = digest
		}
	}
}

func appsDigest(apps []agentproto.AppReadiness) string {
	parts := make([]string, len(apps))
	for i, a := range apps {
		ready := append([]string(nil), a.Ready...)
		sort.Strings(ready)
		parts[i] = a.AllocationID + ":" + strings.Join(ready, ",")
	}
	sort.Strings(parts)
	return strings.Join(parts, ";")
}

func exitDigest(exits []agentproto.WorkloadExit) string {
	var b strings.Builder
	for _, e := range exits {
		fmt.Fprintf(&b, "%s:%d:%t,", e.AllocationID, e.ExitCode, e.OOMKilled)
	}
	return b.String()
}

// gpuReports is the agent's GPU report as inventory takes it.
func gpuReports(gpus []agentproto.GPU) []inventory.GPUReport {
	out := make([]inventory.GPUReport, len(gpus))
	for i, g := range gpus {
		out[i] = inventory.GPUReport{Index: g.Index, UUID: g.UUID, Model: g.Model, MemoryMiB: g.MemoryMiB,
			Healthy: g.Health == "healthy", Reasons: g.HealthReasons}
	}
	return out
}

// gpuDigest is what, in a GPU report, the database cares about.
func gpuDigest(gpus []agentproto.GPU) string {
	parts := make([]string, len(gpus))
	for i, g := range gpus {
		parts[i] = fmt.Sprintf("%d|%s|%s|%d|%s|%s", g.Index, g.UUID, g.Model, g.MemoryMiB, g.Health, strings.Join(g.HealthReasons, ";"))
	}
	sort.Strings(parts)
	return strings.Join(parts, "\n")
}

// SweepOnce has inventory mark offline the agent-run nodes whose last
// heartbeat is older than the deadline and that no replica has heard from
// since (lastHeard), and reports how many.
func (g *Gateway) SweepOnce(ctx context.Context, now time.Time) (int, error) {
	// Offline nodes' grace counts only time a sweeper saw: a gap longer
	// than two sweeps (the control plane was down) adds two sweeps.
	gone, err := g.live.Sweep(ctx, now, now.Add(-g.Deadline()), 2*g.sweepEvery(), g.lastHeard)
	if err != nil {
		return 0, err
	}
	for _, n := range gone {
		slog.Warn("node missed its heartbeat deadline; offline", "node_id", n.ID, "hostname", n.Hostname, "deadline", g.Deadline())
		if g.cfg.OnGone != nil {
			g.cfg.OnGone(n.ID)
		}
		g.mu.Lock()
		if st := g.nodes[n.ID]; st != nil {
			st.written = time.Time{}
		}
		g.mu.Unlock()
	}
	return len(gone), nil
}

// livenessTimeout bounds asking the other replicas about a node.
const livenessTimeout = 500 * time.Millisecond

// lastHeard is when any replica last had a heartbeat from the node: this
// replica's memory, or the answer of the replica holding its session
// (zero when none does). known is false when it cannot tell: a replica
// subscribed for the node but did not answer in time, or NATS failed.
func (g *Gateway) lastHeard(ctx context.Context, nodeID uuid.UUID) (at time.Time, known bool) {
	g.mu.Lock()
	st := g.nodes[nodeID]
	var local time.Time
	held := st != nil && st.session != nil
	if st != nil {
		local = st.heard
	}
	g.mu.Unlock()
	if held {
		return local, true
	}
	actx, cancel := context.WithTimeout(ctx, livenessTimeout)
	defer cancel()
	msg := &nats.Msg{Subject: g.taskSubject(nodeID), Header: nats.Header{}}
	msg.Header.Set(relayHeader, "liveness")
	reply, err := g.askHolder(actx, msg)
	if errors.Is(err, ErrNodeUnreachable) {
		return local, true // nobody holds its session
	}
	if err != nil {
		return local, false
	}
	if err := at.UnmarshalText(reply.Data); err != nil || at.Before(local) {
		return local, true
	}
	return at, true
}

// answerLiveness tells another replica's sweeper when this replica last
// heard from the node.
func (g *Gateway) answerLiveness(nodeID uuid.UUID, m *nats.Msg) {
	g.mu.Lock()
	var at time.Time
	if st := g.nodes[nodeID]; st != nil {
		at = st.heard
	}
	g.mu.Unlock()
	b, _ := at.MarshalText()
	_ = m.Respond(b)
}

// sweepEvery is how often RunSweeper sweeps.
func (g *Gateway) sweepEvery() time.Duration {
	return max(g.cfg.HeartbeatInterval/2, 50*time.Millisecond)
}

// RunSweeper sweeps every interval/2 until ctx ends.
func (g *Gateway) RunSweeper(ctx context.Context) error {
	t := time.NewTicker(g.sweepEvery())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			if _, err := g.SweepOnce(ctx, now); err != nil && ctx.Err() == nil {
				slog.Warn("sweep offline nodes", "err", err)
			}
		}
	}
}

// SetOnConnect sets Config.OnConnect after construction (it needs the
// runtime, which needs the gateway).
func (g *Gateway) SetOnConnect(fn func(ctx context.Context, nodeID uuid.UUID)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cfg.OnConnect = fn
}

// SetOnReport sets Config.OnReport after construction (the runtime that
// reconciles needs the gateway first).
func (g *Gateway) SetOnReport(fn func(ctx context.Context, nodeID uuid.UUID, running []uuid.UUID) error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cfg.OnReport = fn
}

// SetOnExit sets Config.OnExit after New (it needs the worker, which
// needs the gateway's runtime).
func (g *Gateway) SetOnExit(fn func(ctx context.Context, nodeID uuid.UUID, exits []agentproto.WorkloadExit) error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cfg.OnExit = fn
}

// SetOnApps sets Config.OnApps after New (it needs the worker).
func (g *Gateway) SetOnApps(fn func(ctx context.Context, nodeID uuid.UUID, apps []agentproto.AppReadiness) error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cfg.OnApps = fn
}

// flushEvery is how often liveness stamps are written: well inside the
// offline deadline (3 intervals), so a live node is never swept.
func (g *Gateway) flushEvery() time.Duration {
	return min(g.cfg.HeartbeatInterval, 5*time.Second)
}

// FlushOnce has inventory write the pending liveness stamps in one
// statement; a node that was offline until then reconciles its report on
// its next heartbeat.
func (g *Gateway) FlushOnce(ctx context.Context) error {
	back, err := g.live.Flush(ctx)
	for _, b := range back {
		g.reportAgain(b.ID)
		// What it runs is alive as of the stamp that brought it back, not
		// only from its next heartbeat: billing resumes there.
		g.mu.Lock()
		st := g.nodes[b.ID]
		var report []string
		if st != nil {
			report = st.report
		}
		g.mu.Unlock()
		if st != nil {
			if aerr := g.alive(ctx, b.ID, st, report, strings.Join(report, ","), b.At); aerr != nil {
				slog.Warn("resume a node that came back", "node_id", b.ID, "err", aerr)
			}
		}
	}
	return err
}

// RunFlusher flushes liveness stamps until ctx ends, then once more.
func (g *Gateway) RunFlusher(ctx context.Context) error {
	t := time.NewTicker(g.flushEvery())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return g.FlushOnce(context.WithoutCancel(ctx))
		case <-t.C:
			if err := g.FlushOnce(ctx); err != nil && ctx.Err() == nil {
				slog.Warn("flush agent heartbeats", "err", err)
			}
		}
	}
}
