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
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gpuaas/gpuaas/internal/password"
	"github.com/gpuaas/gpuaas/sdk"
)

// sample is the server's figures at one moment.
type sample struct {
	at time.Duration // since the load started
	// heapInuse is the lowest go_memstats_heap_inuse_bytes seen since the
	// previous sample (scraped every heapScrapeEvery): the floor the
	// collector brings the heap back to. A single reading swings by tens
	// of MiB with GC timing (each login's argon2id hash alone allocates
	// 19 MiB), and a leak raises the floor. heapPeak is the highest.
	heapInuse  float64
	heapPeak   float64
	goroutines float64 // go_goroutines
	openFDs    float64 // process_open_fds
	pgConns    float64 // pg_stat_activity rows on the server's database
	ops        int     // requests the load had made so far
}

// heapScrapeEvery is how often the heap is read between samples.
const heapScrapeEvery = 250 * time.Millisecond

// sampler reads the figures: the server's own /metrics, and PostgreSQL's
// view of the server's database through a connection to another one (so
// that it does not count itself).
type sampler struct {
	metrics *sdk.Client
	pg      *pgx.Conn
	dbName  string

	mu               sync.Mutex
	heapMin, heapMax float64 // since the last take; NaN when none
	heapErr          error
}

func newSampler(metrics *sdk.Client, pg *pgx.Conn, dbName string) *sampler {
	return &sampler{metrics: metrics, pg: pg, dbName: dbName, heapMin: math.NaN(), heapMax: math.NaN()}
}

// watchHeap reads the heap every heapScrapeEvery until ctx ends.
func (s *sampler) watchHeap(ctx context.Context) {
	t := time.NewTicker(heapScrapeEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		m, err := s.scrape(ctx)
		s.mu.Lock()
		if err != nil {
			if ctx.Err() == nil {
				s.heapErr = err
			}
		} else {
			s.noteHeapLocked(m["go_memstats_heap_inuse_bytes"])
		}
		s.mu.Unlock()
	}
}

func (s *sampler) noteHeapLocked(v float64) {
	if math.IsNaN(s.heapMin) || v < s.heapMin {
		s.heapMin = v
	}
	if math.IsNaN(s.heapMax) || v > s.heapMax {
		s.heapMax = v
	}
}

func (s *sampler) scrape(ctx context.Context) (map[string]float64, error) {
	body, err := s.metrics.Metrics(ctx)
	if err != nil {
		return nil, fmt.Errorf("read /metrics: %w", err)
	}
	m := parseMetrics(body)
	for _, name := range []string{"go_memstats_heap_inuse_bytes", "go_goroutines", "process_open_fds"} {
		if _, ok := m[name]; !ok {
			return nil, fmt.Errorf("/metrics has no %s", name)
		}
	}
	return m, nil
}

func (s *sampler) take(ctx context.Context) (sample, error) {
	m, err := s.scrape(ctx)
	if err != nil {
		return sample{}, err
	}
	smp := sample{goroutines: m["go_goroutines"], openFDs: m["process_open_fds"]}
	s.mu.Lock()
	s.noteHeapLocked(m["go_memstats_heap_inuse_bytes"])
	smp.heapInuse, smp.heapPeak, err = s.heapMin, s.heapMax, s.heapErr
	s.heapMin, s.heapMax, s.heapErr = math.NaN(), math.NaN(), nil
	s.mu.Unlock()
	if err != nil {
		return sample{}, err
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
// does not. The heap floor may grow by half (GC timing and caches warming
// are noise at this size; a leak of one object per request over a long
// soak is not). The
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
	// The heap floor is bimodal: a GC that runs while a login's argon2id
	// buffer (19 MiB) is live leaves it in the floor until the next GC,
	// and the next is often set off by the next hash, so the high mode
	// lasts for several seconds. The lowest floor of each half of the run
	// is what the collector gets back to; a median of floors, or a
	// shorter window, would flip between the two modes.
	half := max(1, len(samples)/2)
	lowest := func(ss []sample) float64 {
		m := math.Inf(1)
		for _, s := range ss {
			m = math.Min(m, heapOf(s))
		}
		return m
	}
	// Even so, under load (a busy machine slows the hashes) a whole half
	// can stay in the high mode, 19 to 21 MiB up: one argon2id working set,
	// and half as much again for what the collector keeps beside it, is
	// allowed on top of the relative bound. A leak grows without that
	// ceiling, and the long form runs long enough to tell.
	heap := check{figure: "heap floor (MiB)", start: lowest(samples[:half]), end: lowest(samples[len(samples)-half:])}
	hashes := 1.5 * float64(password.Current.MemoryKiB) / 1024
	heap.limit = math.Max(heap.start*(1+heapGrowthMax), heap.start+hashes)
	heap.rule = fmt.Sprintf("growth ≤ max(%.0f%%, %.0f MiB)", heapGrowthMax*100, hashes)
	heap.ok = heap.end <= heap.limit
	pg := check{figure: "postgres connections", start: med(first, pgOf), end: med(last, pgOf),
		limit: poolMaxConns}
	peak := 0.0
	for _, s := range samples {
		peak = math.Max(peak, s.pgConns)
	}
	pg.rule = fmt.Sprintf("every sample ≤ pool %d (peak %.0f)", poolMaxConns, peak)
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
	fmt.Fprintf(&b, "%-8s %11s %10s %11s %9s %9s %9s\n", "t", "heap floor", "heap peak", "goroutines", "open fds", "pg conns", "requests")
	for i, s := range samples {
		mark := ""
		switch {
		case i < k:
			mark = "  start window"
		case i >= len(samples)-k:
			mark = "  end window"
		}
		fmt.Fprintf(&b, "%-8s %11.1f %10.1f %11.0f %9.0f %9.0f %9d%s\n", s.at.Round(time.Second), heapOf(s), s.heapPeak/(1<<20),
			s.goroutines, s.openFDs, s.pgConns, s.ops, mark)
	}
	fmt.Fprintf(&b, "\n(heap in use in MiB, lowest and highest since the previous sample, read every %s; after a %s warm-up.\n"+
		"Start and end: the lowest heap floor of the first and last half of the samples, and the medians of the\n"+
		"other figures of the first and last %d)\n", heapScrapeEvery, warmup, k)
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
