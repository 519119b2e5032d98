package agentbench_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/internal/agent"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/gpu"
	"github.com/gpuaas/gpuaas/internal/inventory"
	"github.com/gpuaas/gpuaas/internal/server"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
)

// Knobs (scripts/bench-agents.sh maps N, INTERVAL, SOAK and GPUS onto them).
const (
	envEnable   = "GPUAAS_BENCH_AGENTS"
	envN        = "GPUAAS_BENCH_N"
	envInterval = "GPUAAS_BENCH_INTERVAL"
	envSoak     = "GPUAAS_BENCH_SOAK"
	envGPUs     = "GPUAAS_BENCH_GPUS"
)

// Result markers: the script prints what lies between them at the end.
const (
	beginMarker = "=== bench-agents results ==="
	endMarker   = "=== bench-agents end ==="
)

// TestBenchAgents is `make bench-agents`: N real agents (the real agent
// code, each with its own websocket+yamux connection over loopback, sharing
// this process with the control plane) join with one-time tokens, then
// heartbeat at the server's interval for a soak. It prints heartbeat
// handling latency (the server's own histogram), CPU and RSS, the write
// coalescing, false offline marks, and the time to detect a killed agent,
// next to same-run baselines through the same pgx pool.
func TestBenchAgents(t *testing.T) {
	if os.Getenv(envEnable) != "1" {
		t.Skipf("benchmark: set %s=1 or run make bench-agents", envEnable)
	}
	n := envInt(t, envN, 1000)
	interval := envDuration(t, envInterval, 10*time.Second)
	soak := envDuration(t, envSoak, 120*time.Second)
	gpusPer := envInt(t, envGPUs, 2)
	ctx := context.Background()

	env := servertest.Start(t, func(c *config.Server) {
		c.HeartbeatInterval = interval
		c.Runtime = "agent" // what a fleet of agents runs under: reports are reconciled
		// Every agent here joins from 127.0.0.1; a real fleet joins from N
		// addresses, so the per-address join limit is lifted.
		c.LoginIPAttempts = 100*n + 1000
		c.LoginIPWindow = time.Minute
	})
	// Count warnings (reconnects, sweeps) instead of printing N of each;
	// errors still reach stderr.
	logs := newCountingHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	slog.SetDefault(slog.New(logs))
	pool := env.App.Store.Pool()
	reg := env.App.Registry

	// Nodes and their GPUs in bulk, then one join token each.
	setupStart := time.Now()
	if err := env.App.Inventory.SeedRegion(ctx, inventory.Region{ID: "bench", Name: "Bench"}); err != nil {
		t.Fatal(err)
	}
	admin := env.NewUser("admin")
	rows, err := pool.Query(ctx, `INSERT INTO nodes (hostname, region)
		SELECT 'bench-' || lpad(g::text, 6, '0'), 'bench' FROM generate_series(1, $1::int) g
		RETURNING id, hostname`, n)
	if err != nil {
		t.Fatal(err)
	}
	type node struct {
		id       uuid.UUID
		hostname string
		token    string
	}
	nodes := make([]node, 0, n)
	for rows.Next() {
		var nd node
		if err := rows.Scan(&nd.id, &nd.hostname); err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, nd)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].hostname < nodes[j].hostname })
	if _, err := pool.Exec(ctx, `INSERT INTO gpus (node_id, idx, uuid, model, memory_mib)
		SELECT n.id, k, 'GPU-' || n.hostname || '-' || k, 'NVIDIA H200', 143771
		FROM nodes n, generate_series(0, $1::int - 1) k WHERE n.region = 'bench'`, gpusPer); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var tokenErr atomic.Value
	next := atomic.Int64{}
	for range 4 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				jt, err := env.App.NodeAuth.IssueJoinToken(ctx, admin.Id, nodes[i].id, time.Hour)
				if err != nil {
					tokenErr.Store(err)
					return
				}
				nodes[i].token = jt.Token
			}
		})
	}
	wg.Wait()
	if err, _ := tokenErr.Load().(error); err != nil {
		t.Fatalf("issue join token: %v", err)
	}
	setup := time.Since(setupStart)

	// Agents: start i at i*interval/n so heartbeats spread as a fleet's do.
	type running struct {
		cancel context.CancelFunc
		done   chan struct{} // closed when agent.Run returns
	}
	agents := make([]*running, n)
	dataDir := t.TempDir()
	var permanent atomic.Int64
	stopAll := func() {
		for _, a := range agents {
			if a != nil {
				a.cancel()
			}
		}
		deadline := time.After(60 * time.Second)
		for _, a := range agents {
			if a == nil {
				continue
			}
			select {
			case <-a.done:
			case <-deadline:
				t.Error("agents did not stop within 60s")
				return
			}
		}
	}
	t.Cleanup(stopAll) // before the server's own cleanup: cleanups run last-in first-out
	rampStart := time.Now()
	for i := range n {
		if d := time.Until(rampStart.Add(time.Duration(i) * interval / time.Duration(n))); d > 0 {
			time.Sleep(d)
		}
		inv := gpu.Inventory{DriverVersion: "570.00", CUDAVersion: "12.8"}
		for k := range gpusPer {
			inv.GPUs = append(inv.GPUs, gpu.Device{Index: k, UUID: fmt.Sprintf("GPU-%s-%d", nodes[i].hostname, k),
				Name: "NVIDIA H200", MemoryTotalMiB: 143771, Health: "healthy", HealthReasons: []string{}})
		}
		cfg := agent.Config{Server: env.URL, JoinToken: nodes[i].token, DataDir: filepath.Join(dataDir, nodes[i].hostname),
			Runtime: "sim", Version: server.Version, Hostname: nodes[i].hostname,
			Discoverer: gpu.Simulated{Inventory: inv}, NodeRuntime: agent.SimRuntime{}, MaxBackoff: 5 * time.Second}
		actx, cancel := context.WithCancel(ctx)
		a := &running{cancel: cancel, done: make(chan struct{})}
		agents[i] = a
		go func() {
			defer close(a.done)
			if err := agent.Run(actx, cfg); err != nil {
				permanent.Add(1)
				slog.Error("agent stopped", "hostname", cfg.Hostname, "err", err)
			}
		}()
	}
	// Ramp: every agent connected and its first heartbeat (GPU sync) written.
	rampLimit := time.Now().Add(2*time.Minute + interval)
	for {
		m := gather(t, reg)
		if int(m.sessions) >= n && int(m.written) >= n {
			break
		}
		if time.Now().After(rampLimit) || int(permanent.Load()) > 0 {
			t.Logf("ramp incomplete: %v sessions, %v first heartbeats written, %d agents stopped", m.sessions, m.written, permanent.Load())
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	ramp := time.Since(rampStart)

	// Soak.
	before := gather(t, reg)
	warnBefore := logs.snapshot()
	cpuBefore, pgBefore, machBefore := procCPU("self"), postgresCPU(), machineCPU()
	soakStart := time.Now()
	soakCtx, soakDone := context.WithCancel(ctx)
	var baseMu sync.Mutex
	var selectRTT, writeRTT []time.Duration
	if _, err := pool.Exec(ctx, `CREATE TABLE bench_baseline (id int PRIMARY KEY, at timestamptz NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO bench_baseline VALUES (1, now())`); err != nil {
		t.Fatal(err)
	}
	var samplers sync.WaitGroup
	samplers.Go(func() { // baselines: 10/s each through the same pool, under the same load
		tk := time.NewTicker(100 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-soakCtx.Done():
				return
			case <-tk.C:
			}
			s := time.Now()
			var one int
			if err := pool.QueryRow(soakCtx, `SELECT 1`).Scan(&one); err != nil {
				continue
			}
			d1 := time.Since(s)
			s = time.Now()
			tx, err := pool.Begin(soakCtx)
			if err != nil {
				continue
			}
			if _, err := tx.Exec(soakCtx, `UPDATE bench_baseline SET at = $1 WHERE id = 1`, s); err != nil {
				_ = tx.Rollback(ctx)
				continue
			}
			if err := tx.Commit(soakCtx); err != nil {
				continue
			}
			d2 := time.Since(s)
			baseMu.Lock()
			selectRTT, writeRTT = append(selectRTT, d1), append(writeRTT, d2)
			baseMu.Unlock()
		}
	})
	var minSessions atomic.Int64
	minSessions.Store(int64(before.sessions))
	var peakRSS atomic.Int64
	samplers.Go(func() {
		tk := time.NewTicker(time.Second)
		defer tk.Stop()
		for {
			select {
			case <-soakCtx.Done():
				return
			case <-tk.C:
			}
			if s := int64(gather(t, reg).sessions); s < minSessions.Load() {
				minSessions.Store(s)
			}
			if r := rssBytes(); r > peakRSS.Load() {
				peakRSS.Store(r)
			}
		}
	})
	time.Sleep(soak)
	soakDone()
	samplers.Wait()
	soakWall := time.Since(soakStart)
	after := gather(t, reg)
	cpuAfter, pgAfter, machAfter := procCPU("self"), postgresCPU(), machineCPU()
	warnAfter := logs.snapshot()
	rss := rssBytes()
	goroutines := runtime.NumGoroutine()
	var offlineAtEnd int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM nodes WHERE region = 'bench' AND status <> 'online'`).Scan(&offlineAtEnd); err != nil {
		t.Fatal(err)
	}

	// Detection: end one agent (its process dies: the connection closes)
	// and time until the sweeper marks its node offline.
	victim := nodes[n/2]
	var stampSecs float64
	if err := pool.QueryRow(ctx, `SELECT extract(epoch FROM now() - last_heartbeat_at)::float8 FROM nodes WHERE id = $1`,
		victim.id).Scan(&stampSecs); err != nil {
		t.Fatal(err)
	}
	stampAge := time.Duration(stampSecs * float64(time.Second))
	agents[n/2].cancel()
	<-agents[n/2].done
	killed := time.Now()
	detectLimit := killed.Add(3*interval + interval/2 + 30*time.Second)
	var detection time.Duration
	for {
		var status string
		if err := pool.QueryRow(ctx, `SELECT status FROM nodes WHERE id = $1`, victim.id).Scan(&status); err != nil {
			t.Fatal(err)
		}
		if status == "offline" {
			detection = time.Since(killed)
			break
		}
		if time.Now().After(detectLimit) {
			detection = -1
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	afterDetect := gather(t, reg)
	var othersOffline int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM nodes WHERE region = 'bench' AND status <> 'online' AND id <> $1`, victim.id).Scan(&othersOffline); err != nil {
		t.Fatal(err)
	}

	// Figures.
	hist := after.hist.minus(before.hist)
	handled := after.written + after.coalesced - before.written - before.coalesced
	written := after.written - before.written
	coalesced := after.coalesced - before.coalesced
	expected := float64(n) * soakWall.Seconds() / interval.Seconds()
	cpu := cpuAfter - cpuBefore
	pgCPU := pgAfter - pgBefore
	machBusy, machTotal := machAfter.busy-machBefore.busy, machAfter.total-machBefore.total
	p50, p90, p99 := hist.quantile(.5), hist.quantile(.9), hist.quantile(.99)
	mean := 0.0
	if hist.count > 0 {
		mean = hist.sum / float64(hist.count)
	}
	sel50, sel99 := pct(selectRTT, .5), pct(selectRTT, .99)
	wr50, wr99 := pct(writeRTT, .5), pct(writeRTT, .99)
	falseSoak := after.offline - before.offline
	falseDetect := afterDetect.offline - after.offline - 1
	deadline := 3 * interval
	bound := deadline + interval/2
	reconnects := warnAfter["agent connection lost; reconnecting"] - warnBefore["agent connection lost; reconnecting"]

	var b bytes.Buffer
	row := func(name, value, note string) { fmt.Fprintf(&b, "%-40s %-26s %s\n", name, value, note) }
	fmt.Fprintln(&b, beginMarker)
	fmt.Fprintf(&b, "%d agents x %d GPUs, heartbeat every %s, soak %s, on %d CPUs (GOMAXPROCS %d)\n",
		n, gpusPer, interval, soakWall.Round(time.Second), runtime.NumCPU(), runtime.GOMAXPROCS(0))
	fmt.Fprintln(&b, "The agents run in the same process as the control plane (real agent code, one websocket+yamux")
	fmt.Fprintln(&b, "connection each over loopback); CPU and RSS below include them. PostgreSQL is a separate process.")
	fmt.Fprintln(&b)
	row("figure", "value", "note")
	row("setup: nodes, GPUs, join tokens", dur(setup), fmt.Sprintf("%d nodes by SQL, tokens via NodeAuth.IssueJoinToken", n))
	row("ramp: joined + connected + 1st write", dur(ramp), fmt.Sprintf("starts staggered over %s; joins over HTTP", interval))
	row("sessions connected (soak end)", fmt.Sprintf("%d / %d", int(after.sessions), n), fmt.Sprintf("fewest during soak %d", minSessions.Load()))
	row("agent reconnects during soak", strconv.Itoa(reconnects), "")
	row("heartbeats handled", fmt.Sprintf("%d (%.0f/s)", int(handled), float64(handled)/soakWall.Seconds()),
		fmt.Sprintf("expected ≈ %.0f (N × soak / interval)", expected))
	row("  written / coalesced", fmt.Sprintf("%d / %d", int(written), int(coalesced)),
		fmt.Sprintf("write ratio %s; unchanged heartbeats are batched into one UPDATE per flush (every ≤ 5 s)", ratioPct(written, handled)))
	row("heartbeat handling p50", ms(p50), "server histogram gpuaas_agent_heartbeat_seconds, soak only;")
	row("", "", "  inside its finest bucket (≤ 0.5 ms) the value is interpolated")
	row("heartbeat handling p90", ms(p90), "")
	row("heartbeat handling p99", ms(p99), verdict(p99 <= 0.050, "target ≤ 50 ms"))
	row("heartbeat handling mean", ms(mean), "exact: histogram sum / count")
	row("baseline SELECT 1 p50 / p99", ms(sel50)+" / "+ms(sel99), fmt.Sprintf("same pgx pool, same load, %d samples", len(selectRTT)))
	row("baseline 1-row UPDATE tx p50 / p99", ms(wr50)+" / "+ms(wr99), "BEGIN; UPDATE; COMMIT through the same pool")
	row("heartbeat p99 ÷ SELECT 1 p99", ratio(p99, sel99), "")
	row("heartbeat p99 ÷ UPDATE tx p99", ratio(p99, wr99), "a written heartbeat is one such tx")
	row("process CPU during soak", fmt.Sprintf("%.1f s (%.0f%% of a core)", cpu, 100*cpu/soakWall.Seconds()),
		fmt.Sprintf("%.0f µs per heartbeat, server + agents", 1e6*cpu/math.Max(float64(handled), 1)))
	samples := after.samples - before.samples
	flushes := after.sampleFlushes - before.sampleFlushes
	row("GPU samples written", fmt.Sprintf("%d (%.0f rows/s)", int(samples), samples/soakWall.Seconds()),
		fmt.Sprintf("expected ≈ %.0f (heartbeats × %d GPUs); one COPY per flush", float64(handled)*float64(gpusPer), gpusPer))
	row("  COPY batches / mean time", fmt.Sprintf("%d / %s", int(flushes), ms((after.sampleFlushSum-before.sampleFlushSum)/math.Max(flushes, 1))),
		fmt.Sprintf("%.0f rows per COPY; dropped (buffer full) %d", samples/math.Max(flushes, 1), int(after.samplesDropped-before.samplesDropped)))
	row("PostgreSQL CPU during soak", fmt.Sprintf("%.1f s (%.0f%% of a core)", pgCPU, 100*pgCPU/soakWall.Seconds()), "all postgres processes on the machine")
	row("machine busy during soak", fmt.Sprintf("%.0f%% of %d CPUs", 100*machBusy/math.Max(machTotal, 1), runtime.NumCPU()), "/proc/stat; includes anything else running")
	row("RSS (soak end / peak)", fmt.Sprintf("%s / %s", mib(rss), mib(peakRSS.Load())), fmt.Sprintf("%d goroutines", goroutines))
	row("false offline marks during soak", fmt.Sprintf("%d", int(falseSoak)), verdict(falseSoak == 0 && offlineAtEnd == 0,
		fmt.Sprintf("target 0; %d bench nodes not online at soak end", offlineAtEnd)))
	if detection < 0 {
		row("detection of a killed agent", "not detected", fmt.Sprintf("within %s", detectLimit.Sub(killed).Round(time.Second)))
	} else {
		row("detection of a killed agent", dur(detection), verdict(detection <= bound,
			fmt.Sprintf("bound %s = deadline 3×%s + sweep every %s (issue: ≤ 40 s at 10 s)", bound, interval, interval/2)))
	}
	row("  its liveness stamp age at kill", dur(stampAge), "detection ≈ deadline − stamp age + time to next sweep")
	row("false offline marks during detection", fmt.Sprintf("%d", int(falseDetect)), fmt.Sprintf("other nodes not online: %d", othersOffline))
	if other := otherWarnings(warnAfter); other != "" {
		fmt.Fprintln(&b)
		fmt.Fprintln(&b, "warnings logged over the whole run (message: count):")
		fmt.Fprint(&b, other)
	}
	fmt.Fprintln(&b, endMarker)
	fmt.Print(b.String())
}

// metrics is what the benchmark reads from the server's registry.
type metrics struct {
	written, coalesced, offline, sessions float64
	// samples are GPU telemetry rows written (gpuaas_gpu_samples_written_total),
	// flushes the COPYs that wrote them and flushSum their seconds.
	samples, sampleFlushes, sampleFlushSum, samplesDropped float64
	hist                                                   histogram
}

type histogram struct {
	bounds []float64
	cum    []uint64
	count  uint64
	sum    float64
}

func gather(t *testing.T, reg *prometheus.Registry) metrics {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Error(err) // callable off the test goroutine
		return metrics{}
	}
	var m metrics
	for _, mf := range mfs {
		switch mf.GetName() {
		case "gpuaas_agent_heartbeats_total":
			for _, x := range mf.GetMetric() {
				for _, l := range x.GetLabel() {
					if l.GetName() != "result" {
						continue
					}
					switch l.GetValue() {
					case "written":
						m.written = x.GetCounter().GetValue()
					case "coalesced":
						m.coalesced = x.GetCounter().GetValue()
					}
				}
			}
		case "gpuaas_gpu_samples_written_total":
			for _, x := range mf.GetMetric() {
				m.samples += x.GetCounter().GetValue()
			}
		case "gpuaas_gpu_samples_dropped_total":
			for _, x := range mf.GetMetric() {
				m.samplesDropped += x.GetCounter().GetValue()
			}
		case "gpuaas_gpu_samples_flush_seconds":
			for _, x := range mf.GetMetric() {
				m.sampleFlushes += float64(x.GetHistogram().GetSampleCount())
				m.sampleFlushSum += x.GetHistogram().GetSampleSum()
			}
		case "gpuaas_nodes_marked_offline_total":
			for _, x := range mf.GetMetric() {
				m.offline += x.GetCounter().GetValue()
			}
		case "gpuaas_agent_sessions":
			for _, x := range mf.GetMetric() {
				m.sessions += x.GetGauge().GetValue()
			}
		case "gpuaas_agent_heartbeat_seconds":
			for _, x := range mf.GetMetric() {
				h := x.GetHistogram()
				m.hist.count, m.hist.sum = h.GetSampleCount(), h.GetSampleSum()
				for _, bk := range h.GetBucket() {
					m.hist.bounds = append(m.hist.bounds, bk.GetUpperBound())
					m.hist.cum = append(m.hist.cum, bk.GetCumulativeCount())
				}
			}
		}
	}
	return m
}

func (h histogram) minus(o histogram) histogram {
	out := histogram{bounds: h.bounds, count: h.count - o.count, sum: h.sum - o.sum, cum: make([]uint64, len(h.cum))}
	for i := range h.cum {
		out.cum[i] = h.cum[i]
		if i < len(o.cum) {
			out.cum[i] -= o.cum[i]
		}
	}
	return out
}

// quantile interpolates linearly inside the bucket that holds it, as
// Prometheus's histogram_quantile does; past the last bound it answers the
// last bound.
func (h histogram) quantile(q float64) float64 {
	if h.count == 0 || len(h.bounds) == 0 {
		return math.NaN()
	}
	rank := q * float64(h.count)
	lower, below := 0.0, uint64(0)
	for i, ub := range h.bounds {
		if float64(h.cum[i]) >= rank {
			in := h.cum[i] - below
			if in == 0 {
				return ub
			}
			return lower + (ub-lower)*(rank-float64(below))/float64(in)
		}
		lower, below = ub, h.cum[i]
	}
	return h.bounds[len(h.bounds)-1]
}

func pct(ds []time.Duration, q float64) float64 {
	if len(ds) == 0 {
		return math.NaN()
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(i, 0)].Seconds()
}

// procCPU is the user+system CPU seconds of /proc/PID.
func procCPU(pid string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	return statCPU(string(b))
}

// statCPU reads utime+stime (fields 14 and 15) from a /proc/PID/stat line;
// the command name in parentheses may hold spaces.
func statCPU(stat string) float64 {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ is 100 on Linux
}

// postgresCPU sums the CPU seconds of every postgres process it can read.
func postgresCPU() float64 {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	total := 0.0
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		if open, shut := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')'); open >= 0 && shut > open && s[open+1:shut] == "postgres" {
			total += statCPU(s)
		}
	}
	return total
}

type cpuTimes struct{ busy, total float64 }

// machineCPU reads the aggregate line of /proc/stat.
func machineCPU() cpuTimes {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var c cpuTimes
	for i, s := range f[1:] {
		v, _ := strconv.ParseFloat(s, 64)
		if i >= 8 { // guest time is already in user
			break
		}
		c.total += v
		if i != 3 && i != 4 { // idle, iowait
			c.busy += v
		}
	}
	return c
}

// rssBytes is VmRSS from /proc/self/status.
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// countingHandler counts warnings by message and passes errors on.
type countingHandler struct {
	mu     *sync.Mutex
	counts map[string]int
	next   slog.Handler
}

func newCountingHandler(next slog.Handler) *countingHandler {
	return &countingHandler{mu: &sync.Mutex{}, counts: map[string]int{}, next: next}
}

func (c *countingHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (c *countingHandler) Handle(ctx context.Context, r slog.Record) error {
	c.mu.Lock()
	c.counts[r.Message]++
	c.mu.Unlock()
	if r.Level >= slog.LevelError {
		return c.next.Handle(ctx, r)
	}
	return nil
}

func (c *countingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &countingHandler{mu: c.mu, counts: c.counts, next: c.next.WithAttrs(as)}
}

func (c *countingHandler) WithGroup(name string) slog.Handler {
	return &countingHandler{mu: c.mu, counts: c.counts, next: c.next.WithGroup(name)}
}

func (c *countingHandler) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.counts))
	for k, v := range c.counts {
		out[k] = v
	}
	return out
}

// otherWarnings lists the warnings counted, but the sim-runtime banner
// every agent prints once.
func otherWarnings(counts map[string]int) string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		if !strings.HasPrefix(k, "RUNTIME IS SIM") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "  %s: %d\n", k, counts[k])
	}
	return b.String()
}

func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 {
		t.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return v
}

func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		// A bare number is seconds.
		secs, err2 := strconv.ParseFloat(s, 64)
		if err2 != nil || secs <= 0 {
			t.Fatalf("%s=%q: want a duration such as 10s", name, s)
		}
		v = time.Duration(secs * float64(time.Second))
	}
	if v <= 0 {
		t.Fatalf("%s=%q: want a positive duration", name, s)
	}
	return v
}

func ms(sec float64) string {
	if math.IsNaN(sec) {
		return "-"
	}
	return fmt.Sprintf("%.2f ms", 1000*sec)
}

func dur(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

func ratio(a, b float64) string {
	if b <= 0 || math.IsNaN(a) || math.IsNaN(b) {
		return "-"
	}
	return fmt.Sprintf("%.1f×", a/b)
}

func ratioPct(a, b float64) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*a/b)
}

func verdict(ok bool, note string) string {
	if ok {
		return "ok: " + note
	}
	return "MISSED: " + note
}
