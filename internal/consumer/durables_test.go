package consumer_test

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/internal/consumer"
	"github.com/gpuaas/gpuaas/internal/devenv"
	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/outbox/outboxtest"
)

// TestOnlyConfiguredTypesAreDelivered holds on every NATS version, on the
// test NATS and on a 2.10+ one (the embedded server of gpuaas dev): a
// consumer of some event types is never even sent the others. Where the
// server filters several subjects it has one durable; where it cannot
// (before 2.10), one per type. An earlier version took every event on one
// durable there and skipped the rest, which cost each event a delivery and
// an ack per consumer.
func TestOnlyConfiguredTypesAreDelivered(t *testing.T) {
	t.Parallel()
	for _, srv := range natsServers(t) {
		t.Run(srv.name, func(t *testing.T) {
			js, n := outboxtest.NATSAt(t, srv.url)
			p := newPipelineOn(t, js, n)
			want := map[uuid.UUID]bool{p.enqueue(events.AllocationActive): true, p.enqueue(events.AllocationReleased): true}
			for range 3 {
				p.enqueue(events.AllocationRequested)
			}
			var got sync.Map
			reg := prometheus.NewRegistry()
			cfg := consumer.Config{Name: "usage", Types: []string{events.AllocationActive, events.AllocationReleased}}
			p.run(t, cfg, reg, func(ctx context.Context, env events.Envelope) error {
				got.Store(env.ID, env.Type)
				_, err := p.apply(ctx, "usage", env.ID)
				return err
			})
			p.waitEffects(t, 2)
			p.waitConsumerIdle(t, "usage")
			got.Range(func(k, v any) bool {
				if !want[k.(uuid.UUID)] {
					t.Errorf("received %s event %s", v, k)
				}
				return true
			})
			if total := handledTotal(t, reg); total != 2 {
				t.Errorf("%v deliveries handled, want 2: the consumer was sent events it does not take", total)
			}
			names := slices.Sorted(maps.Keys(p.durables(t, "usage")))
			if srv.filtersSeveral {
				if !slices.Equal(names, []string{"usage"}) {
					t.Errorf("durables %v, want one (usage)", names)
				}
			} else if !slices.Equal(names, []string{"usage_allocation_active", "usage_allocation_released"}) {
				t.Errorf("durables %v, want one per type", names)
			}
		})
	}
}

// TestTakesOverTheSingleDurable: on a server that cannot filter several
// subjects, the single durable an earlier version left (taking every
// event) is replaced by one per type that start after what it
// acknowledged, so neither is an acknowledged event handled again nor a
// later one missed; a restart keeps the per-type durables where they are.
func TestTakesOverTheSingleDurable(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	if filtersSeveral(t, outboxtest.URL()) {
		t.Skip("the test NATS filters several subjects: there is nothing to take over")
	}
	acked := p.enqueue(events.AllocationActive)
	p.enqueue(events.AllocationRequested)
	waitStream(t, p, 2)
	// The earlier version's durable: no filter, the first two events acked.
	ctx := context.Background()
	old, err := p.js.CreateConsumer(ctx, p.n.Stream(), jetstream.ConsumerConfig{Durable: "usage", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := old.Fetch(2, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for m := range batch.Messages() {
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatal(err)
		}
	}
	later := map[uuid.UUID]bool{p.enqueue(events.AllocationActive): true, p.enqueue(events.AllocationReleased): true}
	p.enqueue(events.AllocationRequested)
	waitStream(t, p, 5)

	var mu sync.Mutex
	var got []uuid.UUID
	cfg := consumer.Config{Name: "usage", Types: []string{events.AllocationActive, events.AllocationReleased}}
	h := func(ctx context.Context, env events.Envelope) error {
		mu.Lock()
		got = append(got, env.ID)
		mu.Unlock()
		_, err := p.apply(ctx, "usage", env.ID)
		return err
	}
	stop := p.run(t, cfg, nil, h)
	p.waitEffects(t, 2)
	p.waitConsumerIdle(t, "usage")
	stop()
	if names := slices.Sorted(maps.Keys(p.durables(t, "usage"))); !slices.Equal(names, []string{"usage_allocation_active", "usage_allocation_released"}) {
		t.Fatalf("durables %v, want the single one replaced by one per type", names)
	}

	// A restart finds the per-type durables and goes on from where they are.
	last := p.enqueue(events.AllocationReleased)
	later[last] = true
	stop = p.run(t, cfg, nil, h)
	p.waitEffects(t, 3)
	p.waitConsumerIdle(t, "usage")
	stop()
	mu.Lock()
	defer mu.Unlock()
	if slices.Contains(got, acked) {
		t.Errorf("an event the old durable acknowledged was handled again")
	}
	if len(got) != len(later) {
		t.Errorf("handled %d events, want the %d after the old durable's acknowledgements", len(got), len(later))
	}
	for _, id := range got {
		if !later[id] {
			t.Errorf("handled %s, which is not one of the later wanted events", id)
		}
	}
}

type natsServer struct {
	name, url      string
	filtersSeveral bool
}

// natsServers is the test NATS and, beside it, a 2.10+ server: the one
// gpuaas dev embeds, started for the test.
func natsServers(t *testing.T) []natsServer {
	t.Helper()
	embedded, err := devenv.StartNATS(t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(embedded.Shutdown)
	return []natsServer{
		{name: "test NATS", url: outboxtest.URL(), filtersSeveral: filtersSeveral(t, outboxtest.URL())},
		{name: "embedded NATS", url: embedded.ClientURL(), filtersSeveral: filtersSeveral(t, embedded.ClientURL())},
	}
}

// filtersSeveral says whether the server at url is NATS 2.10 or later.
func filtersSeveral(t *testing.T, url string) bool {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	defer nc.Close()
	v := strings.SplitN(nc.ConnectedServerVersion(), ".", 3)
	major, _ := strconv.Atoi(v[0])
	minor := 0
	if len(v) > 1 {
		minor, _ = strconv.Atoi(v[1])
	}
	return major > 2 || (major == 2 && minor >= 10)
}

func waitStream(t *testing.T, p *pipeline, n uint64) {
	t.Helper()
	outboxtest.Eventually(t, 10*time.Second, fmt.Sprintf("%d events in the stream", n), func() bool {
		return outboxtest.StreamCount(t, p.js, p.n) >= n
	})
}

func handledTotal(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == "gpuaas_consumer_handled_total" {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
