//go:build linux

package faults_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

var (
	flagSeed = flag.Uint64("faults.seed", 0, "replay a run's choices (0: a new seed; env GPUAAS_FAULTS_SEED)")
	flagLong = flag.Bool("faults.long", false, "long form: at least 200 faults (env GPUAAS_FAULTS_LONG=1)")
)

const (
	shortFaults = 32
	longFaults  = 210
	replicas    = 2
	nodes       = 4
	users       = 4
)

// TestFaults runs the workload while injecting faults, then checks the
// invariants once everything has been released. See the package doc.
func TestFaults(t *testing.T) {
	pgBin := requirePeers(t)
	seed := *flagSeed
	if v := os.Getenv("GPUAAS_FAULTS_SEED"); v != "" && seed == 0 {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("GPUAAS_FAULTS_SEED=%q: %v", v, err)
		}
		seed = s
	}
	if seed == 0 {
		seed = rand.Uint64()%1_000_000_000 + 1
	}
	long := *flagLong || os.Getenv("GPUAAS_FAULTS_LONG") == "1"
	target, gpus := shortFaults, 4
	if long {
		target, gpus = longFaults, 12
	}
	t.Logf("fault-injection suite: seed %d (replay with GPUAAS_FAULTS_SEED=%d), %d faults, long=%v", seed, seed, target, long)
	began := time.Now()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	c := startCluster(ctx, t, pgBin, replicas, nodes, gpus)
	setupTook := time.Since(began)

	hb := &heartbeatLog{}
	hbCtx, hbStop := context.WithCancel(ctx)
	var hbDone sync.WaitGroup
	hbDone.Add(1)
	go func() { defer hbDone.Done(); hb.run(hbCtx, c) }()
	defer func() { hbStop(); hbDone.Wait() }()

	w := newWorkload(ctx, c, seed, users)
	in := &injector{c: c, rng: rand.New(rand.NewPCG(seed, 0x6661756c))}
	// The node lost for good goes in the first half, so that its fate is
	// settled well before the end.
	loseAt := target/4 + in.rng.IntN(target/4+1)

	wctx, wstop := context.WithCancel(ctx)
	var wdone sync.WaitGroup
	wdone.Add(1)
	go func() { defer wdone.Done(); w.run(wctx) }()
	in.run(ctx, target, loseAt)
	wstop()
	wdone.Wait()
	runTook := time.Since(began) - setupTook

	// Quiescence: every process back (but the lost node), everything
	// released, every event published and billed.
	for _, d := range append(append([]*daemon{c.pg.daemon, c.nats.daemon, c.redis.daemon}, c.servers...), agentDaemons(c, in.lost)...) {
		if !d.running() {
			if err := d.start(); err != nil {
				t.Errorf("restart %s for quiescence: %v", d.name, err)
			}
		}
	}
	if err := c.allReady(ctx, 60*time.Second); err != nil {
		t.Errorf("quiescence: %v", err)
	}
	quiet := c.quiesce(ctx, t)
	quietTook := time.Since(began) - setupTook - runTook

	k := &checker{c: c, hb: hb, restarts: in.agentRestarts()}
	if in.lost != nil {
		k.lostNode = in.lost.nodeID
	}
	checks, err := k.run(ctx)
	if err != nil {
		t.Fatalf("invariants: %v", err)
	}
	checks = append(checks, w.no500())

	// The report.
	var b strings.Builder
	fmt.Fprintf(&b, "\n==== fault-injection report ====\n")
	fmt.Fprintf(&b, "seed %d (GPUAAS_FAULTS_SEED=%d), long=%v\n", seed, seed, long)
	fmt.Fprintf(&b, "time: setup %s, workload under faults %s, quiescence %s (%s)\n",
		setupTook.Round(time.Second), runTook.Round(time.Second), quietTook.Round(time.Second), quiet)
	byKind := &stats{}
	survived := 0
	for _, f := range in.faults {
		byKind.add(f.kind)
		if f.survived {
			survived++
		}
	}
	fmt.Fprintf(&b, "faults injected: %d (%s); survived %d/%d\n", len(in.faults), byKind, survived, len(in.faults))
	for _, f := range in.faults {
		if !f.survived {
			fmt.Fprintf(&b, "  NOT SURVIVED: %s %s at %s: %s\n", f.kind, f.target, ts(f.at), f.note)
		}
	}
	var exits []string
	for _, d := range append(append([]*daemon{}, c.servers...), agentDaemons(c, nil)...) {
		exits = append(exits, d.unexpectedExits()...)
	}
	fmt.Fprintf(&b, "unexpected exits (restarted as systemd would): %d\n", len(exits))
	for _, e := range exits {
		fmt.Fprintf(&b, "  %s\n", e)
	}
	fmt.Fprintf(&b, "allocations driven: %d confirmed by the API; API calls: %s\n", len(w.allocations()), &w.ops)
	if in.lost != nil {
		fmt.Fprintf(&b, "node lost for good: %s (%s)\n", in.lost.hostname, in.lost.nodeID)
	}
	var statuses []string
	rows, err := c.st.Pool().Query(ctx, `SELECT status || '/' || CASE WHEN failure_reason = '' THEN '-' ELSE
		left(failure_reason, 60) END, count(*) FROM allocations GROUP BY 1 ORDER BY 1`)
	if err == nil {
		for rows.Next() {
			var s string
			var n int
			if rows.Scan(&s, &n) == nil {
				statuses = append(statuses, fmt.Sprintf("%s=%d", s, n))
			}
		}
		rows.Close()
	}
	fmt.Fprintf(&b, "final allocations (status/failure_reason): %s\n", strings.Join(statuses, ", "))
	fmt.Fprintf(&b, "faults timeline:")
	for i, f := range in.faults {
		if i%4 == 0 {
			fmt.Fprintf(&b, "\n ")
		}
		fmt.Fprintf(&b, " %s %s %s(%.1fs);", ts(f.at), f.kind, f.target, f.upAt.Sub(f.at).Seconds())
	}
	fmt.Fprintf(&b, "\ninvariants:\n")
	failed := 0
	shown := map[uuid.UUID]bool{}
	for _, ck := range checks {
		if len(ck.violations) == 0 {
			fmt.Fprintf(&b, "  PASS  %s (%d checked)\n", ck.name, ck.checked)
			continue
		}
		failed++
		fmt.Fprintf(&b, "  FAIL  %s (%d checked, %d violations)\n", ck.name, ck.checked, len(ck.violations))
		for i, v := range ck.violations {
			if i == 20 {
				fmt.Fprintf(&b, "    … and %d more\n", len(ck.violations)-20)
				break
			}
			fmt.Fprintf(&b, "    - %s\n", v)
		}
		n := 0
		for _, id := range ck.ids {
			if shown[id] || n == 5 {
				continue
			}
			shown[id] = true
			n++
			b.WriteString(k.history(ctx, id))
		}
	}
	fmt.Fprintf(&b, "==== %d of %d invariants failed; seed %d ====\n", failed, len(checks), seed)
	t.Log(b.String())
	if path := os.Getenv("GPUAAS_FAULTS_REPORT"); path != "" {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Errorf("write report: %v", err)
		}
	}
	if len(in.faults) < target {
		t.Errorf("injected %d faults, want at least %d", len(in.faults), target)
	}
	if failed > 0 {
		t.Errorf("%d invariants failed (seed %d): see the report above", failed, seed)
	}
}

func agentDaemons(c *cluster, except *agentProc) []*daemon {
	var out []*daemon
	for _, a := range c.agents {
		if a != except {
			out = append(out, a.daemon)
		}
	}
	return out
}

// quiesce releases everything still held and waits, with a deadline
// past the reconciler's retries, until no allocation is in flight, every
// outbox row is published and billing has applied every event it
// consumes. It says how it ended, for the report.
func (c *cluster) quiesce(ctx context.Context, t *testing.T) string {
	pool := c.st.Pool()
	// Deadline: the reconciler retries a stuck allocation 3 times, one
	// provision deadline apart, before it gives up.
	limit := 6*provisionDeadline + 30*time.Second + nodeLostGrace // the node lost for good may have gone just before the end
	asked := map[uuid.UUID]bool{}
	err := poll(ctx, limit, 250*time.Millisecond, func() (bool, error) {
		rows, err := pool.Query(ctx, `SELECT id, status FROM allocations
			WHERE status IN ('requested', 'provisioning', 'active', 'releasing')`)
		if err != nil {
			return false, err
		}
		var hold []uuid.UUID
		inflight := 0
		for rows.Next() {
			var id uuid.UUID
			var status string
			if err := rows.Scan(&id, &status); err != nil {
				rows.Close()
				return false, err
			}
			inflight++
			if status != "releasing" && !asked[id] {
				hold = append(hold, id)
			}
		}
		rows.Close()
		for _, id := range hold {
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_, err := c.admin.AdminForceRelease(rctx, id, "faults suite: end of run")
			cancel()
			if o := outcome(err); o != "transport" && o != "unavailable" {
				asked[id] = true
			}
		}
		if inflight > 0 {
			return false, fmt.Errorf("%d allocations in flight", inflight)
		}
		var pending, unbilled int
		if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM outbox WHERE published_at IS NULL),
			(SELECT count(*) FROM outbox o WHERE o.type IN ('allocation.active', 'allocation.released', 'allocation.failed')
			 AND (o.payload->'data'->>'usage_settled') IS DISTINCT FROM 'true'
			 AND NOT EXISTS (SELECT 1 FROM consumer_applied a WHERE a.consumer = 'billing' AND a.event_id = o.id))`).
			Scan(&pending, &unbilled); err != nil {
			return false, err
		}
		if pending > 0 || unbilled > 0 {
			return false, fmt.Errorf("%d outbox rows unpublished, %d events not billed", pending, unbilled)
		}
		return true, nil
	})
	if err != nil {
		t.Logf("quiescence not reached: %v (the checks report what is left)", err)
		return "not reached: " + err.Error()
	}
	return "reached"
}
