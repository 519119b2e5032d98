//go:build linux

package soak_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gpuaas/gpuaas/internal/store/dbtest"
	"github.com/gpuaas/gpuaas/sdk"
)

// Result markers: `make soak` prints what lies between them at the end.
const (
	beginMarker = "=== soak results ==="
	endMarker   = "=== soak end ==="
)

// defaultDuration is the short form's load time, warm-up included, so
// that plain `go test ./...` stays about a minute.
const defaultDuration = time.Minute

// plan is how long and how hard a run loads the server.
type plan struct {
	duration, warmup, interval time.Duration
	rate                       float64 // ops offered per second
	workers                    int     // ops in flight at most
}

// planFor reads GPUAAS_SOAK_DURATION (a Go duration, at least 30s) and
// GPUAAS_SOAK_RATE (ops per second); the warm-up is a tenth of the run,
// 15s to 60s, and about a dozen samples follow it, 2s to 30s apart.
func planFor(t *testing.T) plan {
	t.Helper()
	p := plan{duration: defaultDuration, rate: 20, workers: 8}
	if v := os.Getenv("GPUAAS_SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 30*time.Second {
			t.Fatalf("GPUAAS_SOAK_DURATION=%q: want a duration of at least 30s", v)
		}
		p.duration = d
	}
	if v := os.Getenv("GPUAAS_SOAK_RATE"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r <= 0 || r > 1000 {
			t.Fatalf("GPUAAS_SOAK_RATE=%q: want ops per second, above 0 and at most 1000", v)
		}
		p.rate = r
	}
	p.warmup = min(max(p.duration/10, 15*time.Second), time.Minute)
	p.interval = min(max((p.duration-p.warmup)/12, 2*time.Second), 30*time.Second)
	return p
}

// TestSoak runs a steady mixed load against a real `gpuaas server` process
// and fails when its heap, goroutines, open descriptors or PostgreSQL
// connections grow past the bounds (see verdict) between the start and the
// end of the run after the warm-up.
func TestSoak(t *testing.T) {
	p := planFor(t)
	ctx, cancel := context.WithTimeout(context.Background(), p.duration+5*time.Minute)
	defer cancel()
	cp := startControlPlane(ctx, t)

	pg, err := pgx.Connect(ctx, dbtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close(context.Background())
	smp := newSampler(sdk.New(cp.base), pg, cp.dbName)

	l := newLoad(cp, p.rate, p.workers)
	loadCtx, stopLoad := context.WithCancel(ctx)
	loadDone := make(chan struct{})
	began := time.Now()
	go func() {
		defer close(loadDone)
		l.run(loadCtx)
	}()
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		smp.watchHeap(loadCtx)
	}()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			stopLoad()
			<-loadDone
			<-watchDone
		}
	}
	defer stop()

	// The heap floor of the first sample covers one interval, like every
	// other, not the whole warm-up: what was read before is dropped.
	settle := time.NewTimer(p.warmup - p.interval)
	select {
	case <-settle.C:
	case <-cp.server.Done():
		_, err := cp.server.Exited()
		t.Fatalf("the server exited during the warm-up: %v", err)
	}
	if _, err := smp.take(ctx); err != nil {
		t.Fatalf("sample during the warm-up: %v", err)
	}
	var samples []sample
	tick := time.NewTimer(p.interval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
		case <-cp.server.Done():
			_, err := cp.server.Exited()
			t.Fatalf("the server exited during the soak: %v", err)
		case <-ctx.Done():
			t.Fatal("the soak ran past its deadline")
		}
		s, err := smp.take(ctx)
		if err != nil {
			t.Fatalf("sample at %s: %v", time.Since(began).Round(time.Second), err)
		}
		_, s.ops, _ = l.summary()
		s.at = time.Since(began)
		samples = append(samples, s)
		if time.Since(began)+p.interval/2 > p.duration {
			break
		}
		tick.Reset(p.interval)
	}
	stop()
	if done, err := cp.server.Exited(); done {
		t.Fatalf("the server exited during the soak: %v", err)
	}

	checks := verdict(samples)
	ops, opsN, unexpected := l.summary()
	var b strings.Builder
	fmt.Fprintln(&b, beginMarker)
	fmt.Fprintf(&b, "gpuaas server (sim runtime, pool_max_conns=%d) under %.0f ops/s offered by %d workers, %d users, for %s, on %d CPUs\n\n",
		poolMaxConns, p.rate, p.workers, soakUsers, time.Since(began).Round(time.Second), runtime.NumCPU())
	fmt.Fprint(&b, report(samples, p.warmup, checks))
	fmt.Fprintf(&b, "\n%d requests (%.1f/s achieved), %d unexpected (5xx, transport, wrong answer)\n", opsN,
		float64(opsN)/time.Since(began).Seconds(), unexpected)
	fmt.Fprint(&b, ops)
	failed := false
	var why []string
	for _, c := range checks {
		if !c.ok {
			failed = true
			why = append(why, fmt.Sprintf("%s %.1f → %.1f (limit %.1f)", c.figure, c.start, c.end, c.limit))
		}
	}
	if len(samples) < 2 {
		failed, why = true, append(why, "fewer than 2 samples after the warm-up")
	}
	// A few unexpected errors on a loaded machine are noise; more than 1%
	// of requests is a failure of its own.
	if float64(unexpected) > 0.01*float64(opsN) {
		failed, why = true, append(why, fmt.Sprintf("%d of %d requests unexpected", unexpected, opsN))
	}
	if n := l.replayMismatch.Load(); n > 0 {
		failed, why = true, append(why, fmt.Sprintf("%d Idempotency-Key replays answered another allocation", n))
	}
	if failed {
		fmt.Fprintf(&b, "\nverdict: FAIL: %s\n", strings.Join(why, "; "))
	} else {
		fmt.Fprintln(&b, "\nverdict: PASS: no figure grew past its bound")
	}
	fmt.Fprintln(&b, endMarker)
	t.Log("\n" + b.String())
	if failed {
		t.Errorf("soak: %s", strings.Join(why, "; "))
	}
}

// TestVerdictBounds pins the bounds the soak enforces.
func TestVerdictBounds(t *testing.T) {
	flat := func(heap, g, fds, pg float64) sample {
		return sample{heapInuse: heap * (1 << 20), goroutines: g, openFDs: fds, pgConns: pg}
	}
	steady := []sample{flat(10, 100, 40, 5), flat(12, 105, 41, 6), flat(11, 98, 40, 5),
		flat(14, 110, 42, 6), flat(13, 119, 59, 7), flat(14, 120, 60, 8)}
	for _, c := range verdict(steady) {
		if !c.ok {
			t.Errorf("steady run: %s failed (%.1f → %.1f, limit %.1f)", c.figure, c.start, c.end, c.limit)
		}
	}
	// The heap in the high mode for the whole second half (a run under
	// load): one argon2id working set more, not a leak.
	high := []sample{flat(8.4, 100, 40, 5), flat(27.8, 100, 40, 5), flat(8.7, 100, 40, 5),
		flat(27.9, 100, 40, 5), flat(27.2, 100, 40, 5), flat(28.5, 100, 40, 5)}
	if c := verdict(high)[0]; !c.ok {
		t.Errorf("high-mode run: %s failed (%.1f → %.1f, limit %.1f)", c.figure, c.start, c.end, c.limit)
	}
	leaky := []sample{flat(10, 200, 40, 5), flat(10, 200, 40, 5), flat(10, 200, 40, 5),
		flat(45, 221, 61, 10), flat(45, 221, 61, 5), flat(45, 221, 61, 5)}
	for _, c := range verdict(leaky) {
		if c.ok {
			t.Errorf("leaky run: %s passed (%.1f → %.1f, limit %.1f)", c.figure, c.start, c.end, c.limit)
		}
	}
}
