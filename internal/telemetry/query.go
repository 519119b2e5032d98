package telemetry

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// DefaultWindow is how far back a request without since reaches.
const DefaultWindow = time.Hour

// maxBuckets is how many buckets a default step divides the window into.
const maxBuckets = 360

// Window is what a metrics request asks for: [Since, Until) in buckets of
// Step.
type Window struct {
	Since, Until time.Time
	Step         time.Duration
}

// ParseWindow reads since and step from q (see the contract's
// MetricsSince and MetricsStep): since is an RFC 3339 time or a duration
// back from now, default DefaultWindow, clamped to Retention; step is a
// duration or whole seconds, at least minStep (the heartbeat interval),
// default the window in at most maxBuckets buckets.
func ParseWindow(q url.Values, now time.Time, minStep time.Duration) (Window, error) {
	minStep = max(minStep.Round(time.Second), time.Second)
	w := Window{Since: now.Add(-DefaultWindow), Until: now}
	if s := q.Get("since"); s != "" {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			w.Since = t
		} else if d, err := time.ParseDuration(s); err == nil && d > 0 {
			w.Since = now.Add(-d)
		} else {
			return w, apperr.Invalid("since must be an RFC 3339 time or a positive duration such as 15m")
		}
		if !w.Since.Before(now) {
			return w, apperr.Invalid("since must be in the past")
		}
	}
	if oldest := now.Add(-Retention); w.Since.Before(oldest) {
		w.Since = oldest
	}
	if s := q.Get("step"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			n, nerr := strconv.Atoi(s)
			if nerr != nil {
				return w, apperr.Invalid("step must be a duration such as 30s or whole seconds")
			}
			d = time.Duration(n) * time.Second
		}
		if d < minStep || d > Retention {
			return w, apperr.Invalid("step must be from %s (the heartbeat interval) to %s", minStep, Retention)
		}
		w.Step = d.Round(time.Second)
	} else {
		per := time.Duration(math.Ceil(w.Until.Sub(w.Since).Seconds()/maxBuckets)) * time.Second
		w.Step = max(per, minStep)
	}
	return w, nil
}

// Reader answers metrics requests.
type Reader struct{ st *store.Store }

// NewReader returns a Reader over st.
func NewReader(st *store.Store) *Reader { return &Reader{st: st} }

// placedGPU is an allocation's GPU as its gpus column holds it.
type placedGPU struct {
	Index int    `json:"index"`
	UUID  string `json:"uuid"`
}

// AllocationMetrics is the series of an allocation's GPUs, for its owner:
// only its GPUs, and only within [active_at, released_at or now]. Another
// user's allocation, or none, is not found.
func (r *Reader) AllocationMetrics(ctx context.Context, userID, allocationID uuid.UUID, w Window) (api.GPUMetrics, error) {
	row, err := r.st.GetAllocationTelemetryScope(ctx, db.GetAllocationTelemetryScopeParams{ID: allocationID, UserID: userID})
	if store.IsNoRows(err) {
		return api.GPUMetrics{}, apperr.NotFound("allocation")
	}
	if err != nil {
		return api.GPUMetrics{}, fmt.Errorf("get allocation: %w", err)
	}
	var placed []placedGPU
	if err := json.Unmarshal(row.Gpus, &placed); err != nil {
		return api.GPUMetrics{}, fmt.Errorf("read allocation gpus: %w", err)
	}
	out := emptyMetrics(w, placed)
	if row.ActiveAt == nil || !row.NodeID.Valid || len(placed) == 0 {
		return out, nil // it never ran: nothing to show
	}
	since, until := w.Since, w.Until
	if row.ActiveAt.After(since) {
		since = *row.ActiveAt
	}
	if row.ReleasedAt != nil && row.ReleasedAt.Before(until) {
		until = *row.ReleasedAt
	}
	if !since.Before(until) {
		return out, nil
	}
	uuids := make([]string, len(placed))
	for i, g := range placed {
		uuids[i] = g.UUID
	}
	rows, err := r.series(ctx, row.NodeID.UUID, uuids, since, until, w.Step)
	if err != nil {
		return api.GPUMetrics{}, err
	}
	fill(&out, rows)
	return out, nil
}

// NodeMetrics is the series of every GPU of a node: those it has now, and
// any other that reported in the window. A node that does not exist is
// not found.
func (r *Reader) NodeMetrics(ctx context.Context, nodeID uuid.UUID, w Window) (api.GPUMetrics, error) {
	gpus, err := r.st.NodeTelemetryGPUs(ctx, nodeID)
	if err != nil {
		return api.GPUMetrics{}, fmt.Errorf("list node gpus: %w", err)
	}
	if len(gpus) == 0 {
		return api.GPUMetrics{}, apperr.NotFound("node")
	}
	var placed []placedGPU
	for _, g := range gpus {
		if g.Uuid != nil && g.Idx.Valid {
			placed = append(placed, placedGPU{Index: int(g.Idx.Int32), UUID: *g.Uuid})
		}
	}
	out := emptyMetrics(w, placed)
	rows, err := r.series(ctx, nodeID, nil, w.Since, w.Until, w.Step)
	if err != nil {
		return api.GPUMetrics{}, err
	}
	fill(&out, rows)
	return out, nil
}

func (r *Reader) series(ctx context.Context, nodeID uuid.UUID, uuids []string, since, until time.Time, step time.Duration) ([]db.GPUSampleSeriesRow, error) {
	if uuids == nil {
		uuids = []string{}
	}
	rows, err := r.st.GPUSampleSeries(ctx, db.GPUSampleSeriesParams{StepS: step.Seconds(), NodeID: nodeID,
		Since: since, Until: until, Uuids: uuids})
	if err != nil {
		return nil, fmt.Errorf("read gpu samples: %w", err)
	}
	return rows, nil
}

func emptyMetrics(w Window, gpus []placedGPU) api.GPUMetrics {
	out := api.GPUMetrics{Since: w.Since.UTC(), Until: w.Until.UTC(), StepSeconds: int(w.Step / time.Second), Gpus: []api.GPUSeries{}}
	for _, g := range gpus {
		out.Gpus = append(out.Gpus, api.GPUSeries{Uuid: g.UUID, Index: g.Index, Samples: []api.GPUSample{}})
	}
	return out
}

// fill puts rows (ordered by GPU, then bucket) into out's series; a GPU
// not in out (one the node no longer has) gets a series of its own, with
// index -1, after the others.
func fill(out *api.GPUMetrics, rows []db.GPUSampleSeriesRow) {
	at := map[string]int{}
	for i, g := range out.Gpus {
		at[g.Uuid] = i
	}
	for _, r := range rows {
		i, ok := at[r.GpuUuid]
		if !ok {
			i = len(out.Gpus)
			at[r.GpuUuid] = i
			out.Gpus = append(out.Gpus, api.GPUSeries{Uuid: r.GpuUuid, Index: -1, Samples: []api.GPUSample{}})
		}
		out.Gpus[i].Samples = append(out.Gpus[i].Samples, api.GPUSample{T: r.Bucket.UTC(),
			UtilizationPct: round1(r.UtilizationPct), MemoryUsedMib: round1(r.MemoryUsedMib),
			TemperatureC: round1(r.TemperatureC), PowerW: round1(r.PowerW)})
	}
	sort.SliceStable(out.Gpus, func(i, j int) bool {
		a, b := out.Gpus[i], out.Gpus[j]
		if (a.Index < 0) != (b.Index < 0) {
			return a.Index >= 0
		}
		if a.Index != b.Index {
			return a.Index < b.Index
		}
		return strings.Compare(a.Uuid, b.Uuid) < 0
	})
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
