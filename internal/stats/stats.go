package stats

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Sample is one series' current value: a counter's or gauge's value, or a
// histogram's sample count.
type Sample struct {
	Labels map[string]string
	Value  float64
}

// Snapshot is the registry's current values, by family name.
type Snapshot map[string][]Sample

// Read gathers g once.
func Read(g prometheus.Gatherer) (Snapshot, error) {
	families, err := g.Gather()
	snap := Snapshot{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			s := Sample{Labels: map[string]string{}}
			for _, lp := range m.GetLabel() {
				s.Labels[lp.GetName()] = lp.GetValue()
			}
			switch {
			case m.Counter != nil:
				s.Value = m.GetCounter().GetValue()
			case m.Gauge != nil:
				s.Value = m.GetGauge().GetValue()
			case m.Untyped != nil:
				s.Value = m.GetUntyped().GetValue()
			case m.Histogram != nil:
				s.Value = float64(m.GetHistogram().GetSampleCount())
			}
			snap[f.GetName()] = append(snap[f.GetName()], s)
		}
	}
	return snap, err
}

// Sum adds up the samples of the named family whose labels include match
// (nil matches all). A family that is not registered reads as 0.
func (s Snapshot) Sum(name string, match map[string]string) float64 {
	var total float64
samples:
	for _, smp := range s[name] {
		for k, v := range match {
			if smp.Labels[k] != v {
				continue samples
			}
		}
		total += smp.Value
	}
	return total
}

// By sums the named family's samples grouped by one label.
func (s Snapshot) By(name, label string) map[string]float64 {
	out := map[string]float64{}
	for _, smp := range s[name] {
		out[smp.Labels[label]] += smp.Value
	}
	return out
}

// AllocationStatuses lists every allocation status, so that each one is
// exported even at zero.
var AllocationStatuses = []string{"requested", "provisioning", "active", "releasing", "released", "failed", "release_failed"}

// CountFunc reads allocation counts by status.
type CountFunc func(ctx context.Context) (map[string]int64, error)

// AllocationsCollector exports gpuaas_allocations{status}, read from the
// database at scrape time.
type AllocationsCollector struct {
	count   CountFunc
	desc    *prometheus.Desc
	timeout time.Duration
}

// NewAllocationsCollector returns the collector; register it on the registry.
func NewAllocationsCollector(count CountFunc) *AllocationsCollector {
	return &AllocationsCollector{
		count:   count,
		timeout: 2 * time.Second,
		desc: prometheus.NewDesc("gpuaas_allocations",
			"Allocations by status, counted in the database at scrape time.", []string{"status"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *AllocationsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector. A failed count reports an
// invalid metric, so the scrape shows the error rather than stale zeros.
func (c *AllocationsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	counts, err := c.count(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for _, s := range AllocationStatuses {
		if _, ok := counts[s]; !ok {
			counts[s] = 0
		}
	}
	for s, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), s)
	}
}
