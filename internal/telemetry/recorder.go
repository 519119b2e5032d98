package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/prom"
	"github.com/gpuaas/gpuaas/internal/store"
)

// MaxBuffered bounds the samples held for the next flush. While the
// database cannot take them the oldest are dropped (and counted): 1,000
// nodes of 8 GPUs at 10 s fill it in about 25 s of a database outage.
const MaxBuffered = 200_000

// sample is one GPU's reading at one heartbeat, as gpu_samples holds it.
type sample struct {
	node  uuid.UUID
	gpu   string
	at    time.Time
	util  int16
	mem   int32
	tempC int16
	power int32
}

// current is the last reading of one GPU, for the Prometheus gauges.
type current struct {
	index int
	gpu   agentproto.GPU
}

// Recorder buffers the GPU samples of heartbeats and writes them in
// batches; it also keeps each GPU's last reading for Prometheus. Observe
// is on the heartbeat path and touches no database.
type Recorder struct {
	st *store.Store

	mu     sync.Mutex
	buf    []sample
	latest map[uuid.UUID][]current // node → its GPUs at its last heartbeat

	written, dropped prometheus.Counter
	flushSeconds     prometheus.Histogram
}

// NewRecorder returns a Recorder writing to st. reg may be nil; the
// per-GPU gauges are registered on it.
func NewRecorder(st *store.Store, reg prometheus.Registerer) *Recorder {
	r := &Recorder{
		st: st, latest: map[uuid.UUID][]current{},
		written: prom.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gpuaas_gpu_samples_written_total",
			Help: "GPU telemetry samples written to gpu_samples (one per GPU per heartbeat).",
		})),
		dropped: prom.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gpuaas_gpu_samples_dropped_total",
			Help: "GPU telemetry samples dropped because the buffer was full (the database did not take them).",
		})),
		flushSeconds: prom.Register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gpuaas_gpu_samples_flush_seconds",
			Help:    "Time to write one batch of GPU telemetry samples (one COPY).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		})),
	}
	if reg != nil {
		if err := reg.Register(gauges{r}); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				panic(err)
			}
		}
	}
	return r
}

// Observe takes one heartbeat's GPUs, received at at: a sample each for
// the next flush, and the node's gauges replaced (a GPU no longer
// reported loses its series).
func (r *Recorder) Observe(nodeID uuid.UUID, gpus []agentproto.GPU, at time.Time) {
	cur := make([]current, len(gpus))
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, g := range gpus {
		cur[i] = current{index: g.Index, gpu: g}
		if g.UUID == "" {
			continue
		}
		if len(r.buf) >= MaxBuffered {
			n := len(r.buf) / 10
			r.buf = append(r.buf[:0], r.buf[n:]...)
			r.dropped.Add(float64(n))
		}
		r.buf = append(r.buf, sample{node: nodeID, gpu: g.UUID, at: at,
			util: int16(clampInt(g.Utilization, 0, 100)), mem: int32(clampInt(g.MemoryUsedMiB, 0, math.MaxInt32)),
			tempC: int16(clampInt(g.TemperatureC, -300, 1000)), power: int32(clampInt(int(math.Round(g.PowerW)), 0, 1_000_000))})
	}
	r.latest[nodeID] = cur
}

// Forget drops a node's gauges: its agent disconnected from this replica,
// or the node went offline.
func (r *Recorder) Forget(nodeID uuid.UUID) {
	r.mu.Lock()
	delete(r.latest, nodeID)
	r.mu.Unlock()
}

// Buffered is how many samples wait for the next flush.
func (r *Recorder) Buffered() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.buf)
}

// Flush writes the buffered samples with one COPY and returns how many.
// A batch that lands in an hour without a partition (the retention job has
// not run since the server started) makes the partitions and is tried once
// more; one that fails is put back for the next flush.
func (r *Recorder) Flush(ctx context.Context) (int, error) {
	r.mu.Lock()
	batch := r.buf
	r.buf = nil
	r.mu.Unlock()
	if len(batch) == 0 {
		return 0, nil
	}
	start := time.Now()
	err := r.copy(ctx, batch)
	if isNoPartition(err) {
		if _, perr := prepare(ctx, r.st, batch[0].at); perr == nil {
			err = r.copy(ctx, batch)
		}
	}
	if err != nil {
		r.mu.Lock()
		r.buf = append(batch, r.buf...)
		if over := len(r.buf) - MaxBuffered; over > 0 {
			r.buf = r.buf[over:]
			r.dropped.Add(float64(over))
		}
		r.mu.Unlock()
		return 0, fmt.Errorf("write gpu samples: %w", err)
	}
	r.flushSeconds.Observe(time.Since(start).Seconds())
	r.written.Add(float64(len(batch)))
	return len(batch), nil
}

func (r *Recorder) copy(ctx context.Context, batch []sample) error {
	_, err := r.st.Pool().CopyFrom(ctx, pgx.Identifier{"gpu_samples"},
		[]string{"node_id", "gpu_uuid", "t", "utilization_pct", "memory_used_mib", "temperature_c", "power_w"},
		pgx.CopyFromSlice(len(batch), func(i int) ([]any, error) {
			s := batch[i]
			return []any{s.node, s.gpu, s.at, s.util, s.mem, s.tempC, s.power}, nil
		}))
	return err
}

// isNoPartition reports whether err is Postgres finding no partition for
// a row (SQLSTATE 23514, check_violation, which it raises for that).
func isNoPartition(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23514"
}

// RunFlusher flushes every interval until ctx ends, then once more.
func (r *Recorder) RunFlusher(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			_, err := r.Flush(context.WithoutCancel(ctx))
			return err
		case <-t.C:
			if _, err := r.Flush(ctx); err != nil && ctx.Err() == nil {
				slog.Warn("flush gpu samples", "err", err, "buffered", r.Buffered())
			}
		}
	}
}

// gauges exposes each GPU's last reading on this replica (the one holding
// its node's agent session). Series are made at scrape time from the
// latest map, so a GPU or node that is gone has no stale series.
type gauges struct{ r *Recorder }

var (
	gpuLabels = []string{"node", "gpu_index", "uuid"}
	descUtil  = prometheus.NewDesc("gpuaas_gpu_utilization_ratio", "GPU utilisation at the last heartbeat, 0 to 1.", gpuLabels, nil)
	descMem   = prometheus.NewDesc("gpuaas_gpu_memory_used_bytes", "GPU memory in use at the last heartbeat.", gpuLabels, nil)
	descTotal = prometheus.NewDesc("gpuaas_gpu_memory_total_bytes", "GPU memory in all.", gpuLabels, nil)
	descTemp  = prometheus.NewDesc("gpuaas_gpu_temperature_celsius", "GPU temperature at the last heartbeat.", gpuLabels, nil)
	descPower = prometheus.NewDesc("gpuaas_gpu_power_watts", "GPU board power draw at the last heartbeat.", gpuLabels, nil)
	descECC   = prometheus.NewDesc("gpuaas_gpu_ecc_errors", "Volatile ECC errors since the driver loaded, by type (corrected, uncorrected).",
		append(append([]string{}, gpuLabels...), "type"), nil)
	descXid = prometheus.NewDesc("gpuaas_gpu_xid_events", "Xid events the node's kernel log holds for the GPU (this boot).", gpuLabels, nil)
)

// Describe implements prometheus.Collector.
func (gauges) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUtil, descMem, descTotal, descTemp, descPower, descECC, descXid} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (g gauges) Collect(ch chan<- prometheus.Metric) {
	g.r.mu.Lock()
	snapshot := make(map[uuid.UUID][]current, len(g.r.latest))
	for k, v := range g.r.latest {
		snapshot[k] = v
	}
	g.r.mu.Unlock()
	const mib = 1 << 20
	for node, gpus := range snapshot {
		for _, c := range gpus {
			l := []string{node.String(), strconv.Itoa(c.index), c.gpu.UUID}
			ch <- prometheus.MustNewConstMetric(descUtil, prometheus.GaugeValue, float64(c.gpu.Utilization)/100, l...)
			ch <- prometheus.MustNewConstMetric(descMem, prometheus.GaugeValue, float64(c.gpu.MemoryUsedMiB)*mib, l...)
			ch <- prometheus.MustNewConstMetric(descTotal, prometheus.GaugeValue, float64(c.gpu.MemoryMiB)*mib, l...)
			ch <- prometheus.MustNewConstMetric(descTemp, prometheus.GaugeValue, float64(c.gpu.TemperatureC), l...)
			ch <- prometheus.MustNewConstMetric(descPower, prometheus.GaugeValue, c.gpu.PowerW, l...)
			ch <- prometheus.MustNewConstMetric(descECC, prometheus.GaugeValue, float64(c.gpu.ECCCorrected), append(l, "corrected")...)
			ch <- prometheus.MustNewConstMetric(descECC, prometheus.GaugeValue, float64(c.gpu.ECCUncorrected), append(l, "uncorrected")...)
			ch <- prometheus.MustNewConstMetric(descXid, prometheus.GaugeValue, float64(c.gpu.XidEvents), l...)
		}
	}
}

func clampInt(v, lo, hi int) int { return max(lo, min(hi, v)) }
