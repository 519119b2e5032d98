package outbox_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gpuaas/gpuaas/internal/outbox"
	"github.com/gpuaas/gpuaas/internal/outbox/outboxtest"
	"github.com/gpuaas/gpuaas/internal/store/dbtest"
)

// BenchmarkPublishLag is the outbox figure for `make bench`: commit→publish
// lag p50/p99 at 500 events/s (one per transaction), against the same-run
// baseline of a bare synchronous JetStream publish round trip, the floor a
// relay cannot beat. Run once:
//
//	go test -run '^$' -bench PublishLag -benchtime=1x ./internal/outbox/
func BenchmarkPublishLag(b *testing.B) {
	st := dbtest.New(b)
	js, n := outboxtest.NATS(b)
	base50, base99 := publishRoundTrip(b, js, n.Subject("bench.baseline"), 1000)
	r := outbox.NewRelay(st, js, n, nil)
	st.OnEventsCommitted(r.Kick)
	startRelay(b, r)
	b.ResetTimer()
	lag50, lag99 := measureLag(b, st, n, 500, 3*time.Second)
	b.StopTimer()
	b.ReportMetric(float64(lag50.Microseconds())/1000, "lag-p50-ms")
	b.ReportMetric(float64(lag99.Microseconds())/1000, "lag-p99-ms")
	b.ReportMetric(float64(base50.Microseconds())/1000, "baseline-p50-ms")
	b.ReportMetric(float64(base99.Microseconds())/1000, "baseline-p99-ms")
	b.Logf("outbox commit→publish lag p50 %v p99 %v; baseline JetStream publish p50 %v p99 %v; ratio p50 %.1fx p99 %.1fx",
		lag50, lag99, base50, base99, float64(lag50)/float64(base50), float64(lag99)/float64(base99))
}

func publishRoundTrip(b *testing.B, js jetstream.JetStream, subject string, count int) (p50, p99 time.Duration) {
	d := make([]time.Duration, count)
	for i := range d {
		start := time.Now()
		if _, err := js.Publish(context.Background(), subject, []byte(`{}`)); err != nil {
			b.Fatal(err)
		}
		d[i] = time.Since(start)
	}
	slices.Sort(d)
	return d[count/2], d[count*99/100]
}
