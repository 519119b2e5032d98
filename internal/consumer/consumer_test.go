package consumer_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/internal/consumer"
	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/outbox"
	"github.com/gpuaas/gpuaas/internal/outbox/outboxtest"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
	"github.com/gpuaas/gpuaas/internal/store/dbtest"
)

func TestRetriedWithBackoffThenAppliedOnce(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	id := p.enqueue(events.AllocationActive)
	var mu sync.Mutex
	var at []time.Time
	reg := prometheus.NewRegistry()
	cfg := consumer.Config{Name: "billing", Types: []string{events.AllocationActive},
		Backoff: []time.Duration{100 * time.Millisecond, 300 * time.Millisecond}}
	p.run(t, cfg, reg, func(ctx context.Context, env events.Envelope) error {
		mu.Lock()
		at = append(at, time.Now())
		tries := len(at)
		mu.Unlock()
		if tries <= 2 {
			return errors.New("database hiccup")
		}
		_, err := p.apply(ctx, "billing", env.ID)
		return err
	})
	p.waitEffects(t, 1)
	mu.Lock()
	defer mu.Unlock()
	if len(at) != 3 {
		t.Fatalf("handler ran %d times, want 3", len(at))
	}
	if d := at[1].Sub(at[0]); d < 100*time.Millisecond {
		t.Fatalf("second delivery %v after the first, want ≥ 100ms backoff", d)
	}
	if d := at[2].Sub(at[1]); d < 300*time.Millisecond {
		t.Fatalf("third delivery %v after the second, want ≥ 300ms backoff", d)
	}
	if got := p.effects(t, id); got != 1 {
		t.Fatalf("event applied %d times", got)
	}
	if ok, retry := counterValue(t, reg, "ok"), counterValue(t, reg, "retry"); ok != 1 || retry != 2 {
		t.Fatalf("handled_total ok=%v retry=%v, want 1 and 2", ok, retry)
	}
}

func TestDeadLetteredAfterMaxDeliver(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	id := p.enqueue(events.BillingLowBalance)
	var calls atomic.Int32
	reg := prometheus.NewRegistry()
	cfg := consumer.Config{Name: "notify", Types: []string{events.BillingLowBalance}, MaxDeliver: 3,
		Backoff: []time.Duration{20 * time.Millisecond}}
	p.run(t, cfg, reg, func(context.Context, events.Envelope) error {
		calls.Add(1)
		return errors.New("smtp refused")
	})
	dl := p.waitDeadLetter(t)
	if dl.Consumer != "notify" || dl.EventID != id.String() || dl.Deliveries != 3 ||
		dl.Error != "smtp refused" || dl.Subject != p.n.Subject(events.BillingLowBalance) || len(dl.Payload) == 0 {
		t.Fatalf("dead letter %+v", dl)
	}
	p.waitConsumerIdle(t, "notify")
	if c := calls.Load(); c != 3 {
		t.Fatalf("handler ran %d times, want MaxDeliver = 3", c)
	}
	if v := deadLetterValue(t, reg); v != 1 {
		t.Fatalf("dead_letters_total %v, want 1", v)
	}
}

func TestMalformedEnvelopeIsDeadLetteredAtOnce(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	p.run(t, consumer.Config{Name: "c", Types: []string{events.AllocationFailed}}, nil,
		func(context.Context, events.Envelope) error {
			t.Error("handler called for a malformed event")
			return nil
		})
	msg := &nats.Msg{Subject: p.n.Subject(events.AllocationFailed), Data: []byte(`{"id":`), Header: nats.Header{}}
	if _, err := p.js.PublishMsg(context.Background(), msg, jetstream.WithMsgID("bad-1")); err != nil {
		t.Fatal(err)
	}
	dl := p.waitDeadLetter(t)
	if dl.EventID != "bad-1" || dl.Deliveries != 1 || string(dl.Payload) != `{"id":` {
		t.Fatalf("dead letter %+v", dl)
	}
}

func TestApplyOnceUnderConcurrentDuplicates(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	id := uuid.New()
	var applied atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			ok, err := p.apply(context.Background(), "billing", id)
			if err != nil {
				t.Error(err)
			}
			if ok {
				applied.Add(1)
			}
		})
	}
	wg.Wait()
	if applied.Load() != 1 || p.effects(t, id) != 1 {
		t.Fatalf("applied %d times, %d effects; want 1", applied.Load(), p.effects(t, id))
	}
	// Another consumer applies the same event independently.
	if ok, err := p.apply(context.Background(), "notify", id); !ok || err != nil {
		t.Fatalf("second consumer: applied %v, err %v", ok, err)
	}
}

func TestApplyOnceRollsBackOnError(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	id := uuid.New()
	boom := errors.New("boom")
	ok, err := consumer.ApplyOnce(context.Background(), p.st, "c", id, func(tx *store.Store) error {
		if _, err := tx.Pool().Exec(context.Background(), `SELECT 1`); err != nil {
			return err
		}
		return boom
	})
	if ok || !errors.Is(err, boom) {
		t.Fatalf("applied %v, err %v; want false, boom", ok, err)
	}
	if ok, err := p.apply(context.Background(), "c", id); !ok || err != nil {
		t.Fatalf("retry after a failed apply: applied %v, err %v", ok, err)
	}
}

// TestKilledMidHandling stops a consumer while every handler is inside its
// work — half before their transaction commits, half after it commits but
// before the ack — and starts another: every event is applied, none twice.
// "cancel" is a clean shutdown; "crash" drops the NATS connection, so
// nothing is nakked and redelivery waits for AckWait.
func TestKilledMidHandling(t *testing.T) {
	t.Parallel()
	for _, crash := range []bool{false, true} {
		name := map[bool]string{false: "cancel", true: "crash"}[crash]
		t.Run(name, func(t *testing.T) { testKilledMidHandling(t, crash) })
	}
}

func testKilledMidHandling(t *testing.T, crash bool) {
	p := newPipeline(t)
	const total = 40
	for range total {
		p.enqueue(events.AllocationReleased)
	}
	cfg := consumer.Config{Name: "usage", Types: []string{events.AllocationReleased}, Concurrency: 6,
		AckWait: time.Second, Backoff: []time.Duration{50 * time.Millisecond}}

	nc, js := outboxtest.Connect(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	killed := make(chan struct{})
	var inFlight, n atomic.Int32
	done := make(chan error, 1)
	go func() {
		done <- consumer.Run(ctx, js, p.st, p.n, cfg, func(ctx context.Context, env events.Envelope) error {
			afterCommit := n.Add(1)%2 == 0
			_, err := p.applyWith(ctx, "usage", env.ID, func() error {
				if afterCommit {
					return nil
				}
				inFlight.Add(1)
				<-killed
				return errors.New("killed inside the transaction")
			})
			if err != nil || !afterCommit {
				return err
			}
			inFlight.Add(1)
			<-killed // between commit and ack
			return ctx.Err()
		}, nil)
	}()
	outboxtest.Eventually(t, 10*time.Second, "the first consumer to be busy", func() bool {
		return inFlight.Load() == int32(cfg.Concurrency)
	})
	if crash {
		nc.Close()
	} else {
		cancel()
	}
	close(killed)
	cancel()
	if err := <-done; err != nil && !crash {
		t.Fatalf("run: %v", err)
	}
	before := p.totalEffects(t)
	if before >= total {
		t.Fatalf("first consumer applied all %d before it was killed", before)
	}

	p.run(t, cfg, nil, func(ctx context.Context, env events.Envelope) error {
		_, err := p.apply(ctx, "usage", env.ID)
		return err
	})
	p.waitEffects(t, total)
	p.waitConsumerIdle(t, "usage")
	var distinct int
	if err := p.st.Pool().QueryRow(context.Background(), `SELECT count(DISTINCT payload->'data'->>'user_id') `+effectsSQL).Scan(&distinct); err != nil {
		t.Fatal(err)
	}
	if got := p.totalEffects(t); got != total || distinct != total {
		t.Fatalf("%d effects for %d events, want %d each once (the first consumer applied %d)", got, distinct, total, before)
	}
}

// pipeline is a real outbox → relay → JetStream → consumer path on a fresh
// database. A handler's effect is a follow-up event it enqueues in its
// ApplyOnce transaction (what real consumers do), with the source event's
// id as the payload's user_id; nothing consumes those.
type pipeline struct {
	st *store.Store
	js jetstream.JetStream
	n  events.Naming
}

func newPipeline(t *testing.T) *pipeline {
	js, n := outboxtest.NATS(t)
	return newPipelineOn(t, js, n)
}

// newPipelineOn is newPipeline on a stream of the caller's.
func newPipelineOn(t *testing.T, js jetstream.JetStream, n events.Naming) *pipeline {
	st := dbtest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- outbox.NewRelay(st, js, n, nil).Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return &pipeline{st: st, js: js, n: n}
}

const effectType = events.BillingBalanceCredited

const effectsSQL = `FROM outbox WHERE type = 'billing.balance_credited'`

func (p *pipeline) enqueue(typ string) uuid.UUID {
	var id uuid.UUID
	err := p.st.InTx(context.Background(), func(tx *store.Store) error {
		var err error
		id, err = events.Enqueue(context.Background(), tx, p.n, typ, events.Balance{Currency: "USD"})
		return err
	})
	if err != nil {
		panic(err)
	}
	return id
}

func (p *pipeline) apply(ctx context.Context, name string, id uuid.UUID) (bool, error) {
	return p.applyWith(ctx, name, id, func() error { return nil })
}

// applyWith records an effect through ApplyOnce, calling during inside
// the transaction after the effect is written.
func (p *pipeline) applyWith(ctx context.Context, name string, id uuid.UUID, during func() error) (bool, error) {
	return consumer.ApplyOnce(ctx, p.st, name, id, func(tx *store.Store) error {
		if _, err := events.Enqueue(ctx, tx, p.n, effectType, events.Balance{UserID: id}); err != nil {
			return err
		}
		return during()
	})
}

// run runs the consumer until the returned stop is called, or the test
// ends.
func (p *pipeline) run(t *testing.T, cfg consumer.Config, reg prometheus.Registerer, h consumer.Handler) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- consumer.Run(ctx, p.js, p.st, p.n, cfg, h, reg) }()
	stop = sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("consumer run: %v", err)
		}
	})
	t.Cleanup(stop)
	return stop
}

func (p *pipeline) effects(t *testing.T, id uuid.UUID) int {
	t.Helper()
	var n int
	if err := p.st.Pool().QueryRow(context.Background(), `SELECT count(*) `+effectsSQL+` AND payload->'data'->>'user_id' = $1::text`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (p *pipeline) totalEffects(t *testing.T) int {
	t.Helper()
	var n int
	if err := p.st.Pool().QueryRow(context.Background(), `SELECT count(*) `+effectsSQL).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (p *pipeline) waitEffects(t *testing.T, want int) {
	t.Helper()
	outboxtest.Eventually(t, 15*time.Second, "effects to be applied", func() bool { return p.totalEffects(t) >= want })
}

func (p *pipeline) waitDeadLetter(t *testing.T) db.DeadLetter {
	t.Helper()
	var dls []db.DeadLetter
	outboxtest.Eventually(t, 10*time.Second, "a dead letter", func() bool {
		var err error
		dls, err = p.st.ListDeadLetters(context.Background(), db.ListDeadLettersParams{PageLimit: 10})
		return err == nil && len(dls) > 0
	})
	if len(dls) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dls))
	}
	return dls[0]
}

// waitConsumerIdle waits until the consumer's durables (one, or one per
// event type) have nothing pending or unacknowledged, so counts taken
// after it are final.
func (p *pipeline) waitConsumerIdle(t *testing.T, name string) {
	t.Helper()
	outboxtest.Eventually(t, 10*time.Second, "consumer "+name+" to be idle", func() bool {
		durables := p.durables(t, name)
		if len(durables) == 0 {
			return false
		}
		for _, info := range durables {
			if info.NumPending != 0 || info.NumAckPending != 0 {
				return false
			}
		}
		return true
	})
}

// durables is the stream's durables that belong to consumer name: name
// itself and its per-type durables ("name_<type>").
func (p *pipeline) durables(t *testing.T, name string) map[string]*jetstream.ConsumerInfo {
	t.Helper()
	s, err := p.js.Stream(context.Background(), p.n.Stream())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*jetstream.ConsumerInfo{}
	list := s.ListConsumers(context.Background())
	for info := range list.Info() {
		if info.Name == name || strings.HasPrefix(info.Name, name+"_") {
			out[info.Name] = info
		}
	}
	if err := list.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func counterValue(t *testing.T, reg *prometheus.Registry, result string) float64 {
	t.Helper()
	return gather(t, reg, "gpuaas_consumer_handled_total", "result", result)
}

func deadLetterValue(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	return gather(t, reg, "gpuaas_consumer_dead_letters_total", "", "")
}

func gather(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if label == "" || (l.GetName() == label && l.GetValue() == value) {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
