//go:build linux

package soak_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gpuaas/gpuaas/sdk"
)

// sample is the server's figures at one moment.
type sample struct {
	at         time.Duration // since the load started
	heapInuse  float64       // go_memstats_heap_inuse_bytes
	goroutines float64       // go_goroutines
	openFDs    float64       // process_open_fds
	pgConns    float64       // pg_stat_activity rows on the server's database
	ops        int           // requests the load had made so far
}

// sampler reads the figures: the server's own /metrics, and PostgreSQL's
// view of the server's database through a connection to another one (so
// that it does not count itself).
type sampler struct {
	metrics *sdk.Client
	pg      *pgx.Conn
	dbName  string
}

func (s *sampler) take(ctx context.Context) (sample, error) {
	body, err := s.metrics.Metrics(ctx)
	if err != nil {
		return sample{}, fmt.Errorf("read /metrics: %w", err)
	}
	m := parseMetrics(body)
	var smp sample
	for name, dst := range map[string]*float64{
		"go_memstats_heap_inuse_bytes": &smp.heapInuse,
		"go_goroutines":                &smp.goroutines,
		"process_open_fds":             &smp.openFDs,
	} {
		v, ok := m[name]
		if !ok {
			return sample{}, fmt.Errorf("/metrics has no %s", name)
		}
		*dst = v
	}
	if err := s.pg.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = $1`, s.dbName).Scan(&smp.pgConns); err != nil {
		return sample{}, fmt.Errorf("count connections in pg_stat_activity: %w", err)
	}
	return smp, nil
}

// parseMetrics reads the unlabelled series of a Prometheus text exposition.
func parseMetrics(body []byte) map[string]float64 {
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		if !ok || strings.Contains(name, "{") {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(value), 64); err == nil {
			out[name] = v
		}
	}
	return out
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return math.NaN()
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// window is how many samples at each end are summarised by their median:
// a third of them, at least 1 and at most 5.
func window(n int) int {
	return max(1, min(5, n/3))
}

// check is one bound and how the run fared against it.
type check struct {
	figure     string
	start, end float64 // medians of the first and last window
	limit      float64 // the end may not exceed this
	rule       string
	ok         bool
}

// The bounds. Goroutines and descriptors may grow by max(20, 10%) of the
// start: requests and websockets in flight at a sample come and go, a leak
// does not. The heap in use may grow by half (GC timing and caches warming
// are noise at this size; a leak of one object per request is not). The
// PostgreSQL connections may never, in any sample, exceed the pool size
// plus the connections outside it.
const (
	growthAbs     = 20
	growthFrac    = 0.10
	heapGrowthMax = 0.50
)

// verdict checks samples (taken after the warm-up) against the bounds.
func verdict(samples []sample) []check {
	k := window(len(samples))
	first, last := samples[:k], samples[len(samples)-k:]
	med := func(ss []sample, f func(sample) float64) float64 {
		xs := make([]float64, len(ss))
		for i, s := range ss {
			xs[i] = f(s)
		}
		return median(xs)
	}
	growth := func(name string, f func(sample) float64) check {
		c := check{figure: name, start: med(first, f), end: med(last, f)}
		allowed := math.Max(growthAbs, growthFrac*c.start)
		c.limit = c.start + allowed
		c.rule = fmt.Sprintf("growth ≤ max(%d, %.0f%%) = %.0f", growthAbs, growthFrac*100, allowed)
		c.ok = c.end <= c.limit
		return c
	}
	heap := check{figure: "heap in use (MiB)", start: med(first, heapOf), end: med(last, heapOf)}
	heap.limit = heap.start * (1 + heapGrowthMax)
	heap.rule = fmt.Sprintf("growth ≤ %.0f%%", heapGrowthMax*100)
	heap.ok = heap.end <= heap.limit
	pg := check{figure: "postgres connections", start: med(first, pgOf), end: med(last, pgOf),
		limit: poolMaxConns + listenerConns}
	peak := 0.0
	for _, s := range samples {
		peak = math.Max(peak, s.pgConns)
	}
	pg.rule = fmt.Sprintf("every sample ≤ pool %d + listener %d (peak %.0f)", poolMaxConns, listenerConns, peak)
	pg.ok = peak <= pg.limit
	return []check{
		heap,
		growth("goroutines", func(s sample) float64 { return s.goroutines }),
		growth("open fds", func(s sample) float64 { return s.openFDs }),
		pg,
	}
}

func heapOf(s sample) float64 { return s.heapInuse / (1 << 20) }
func pgOf(s sample) float64   { return s.pgConns }

// report is the readable table of a run: the trend, then the verdict.
func report(samples []sample, warmup time.Duration, checks []check) string {
	var b strings.Builder
	k := window(len(samples))
	fmt.Fprintf(&b, "%-10s %12s %11s %9s %9s %9s\n", "t", "heap MiB", "goroutines", "open fds", "pg conns", "requests")
	for i, s := range samples {
		mark := ""
		switch {
		case i < k:
			mark = "  start window"
		case i >= len(samples)-k:
			mark = "  end window"
		}
		fmt.Fprintf(&b, "%-10s %12.1f %11.0f %9.0f %9.0f %9d%s\n", s.at.Round(time.Second), heapOf(s), s.goroutines, s.openFDs, s.pgConns, s.ops, mark)
	}
	fmt.Fprintf(&b, "\n(after a %s warm-up; start and end are medians of the first and last %d samples)\n", warmup, k)
	fmt.Fprintf(&b, "%-22s %10s %10s %10s  %-5s %s\n", "figure", "start", "end", "limit", "", "bound")
	for _, c := range checks {
		v := "ok"
		if !c.ok {
			v = "FAIL"
		}
		fmt.Fprintf(&b, "%-22s %10.1f %10.1f %10.1f  %-5s %s\n", c.figure, c.start, c.end, c.limit, v, c.rule)
	}
	return b.String()
}
