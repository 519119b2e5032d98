package telemetry_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/gpuaas/gpuaas/internal/telemetry"
)

func TestParseWindow(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	hb := 10 * time.Second
	for _, c := range []struct {
		q           string
		since, step time.Duration // back from now; bucket
		bad         bool
	}{
		{q: "", since: time.Hour, step: 10 * time.Second},              // 3600/360 = 10 s
		{q: "since=6h", since: 6 * time.Hour, step: time.Minute},       // 21600/360
		{q: "since=48h", since: 24 * time.Hour, step: 4 * time.Minute}, // clamped to the retention
		{q: "since=2026-12-07T11:30:00Z&step=30s", since: 30 * time.Minute, step: 30 * time.Second},
		{q: "since=5m", since: 5 * time.Minute, step: 10 * time.Second}, // never below the heartbeat
		{q: "step=120", since: time.Hour, step: 2 * time.Minute},        // whole seconds
		{q: "step=5s", bad: true},                                       // below the heartbeat
		{q: "step=48h", bad: true},
		{q: "since=2026-12-07T13:00:00Z", bad: true}, // the future
		{q: "since=soon", bad: true},
	} {
		q, _ := url.ParseQuery(c.q)
		w, err := telemetry.ParseWindow(q, now, hb)
		if c.bad {
			if err == nil {
				t.Errorf("%q: no error, %+v", c.q, w)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.q, err)
			continue
		}
		if got := now.Sub(w.Since); got != c.since || w.Step != c.step || !w.Until.Equal(now) {
			t.Errorf("%q: since -%s step %s until %s; want -%s %s", c.q, got, w.Step, w.Until, c.since, c.step)
		}
	}
}
