package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/outbox"
	"github.com/gpuaas/gpuaas/internal/outbox/outboxtest"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
	"github.com/gpuaas/gpuaas/internal/store/dbtest"
)

func TestRelayPublishesInOrderWithMsgID(t *testing.T) {
	st := dbtest.New(t)
	js, n := outboxtest.NATS(t)
	var ids []uuid.UUID
	for i := range 40 {
		typ := events.Types[i%len(events.Types)]
		ids = append(ids, outboxtest.Enqueue(t, st, n, typ, events.Balance{BalanceMinor: int64(i)}))
	}
	startRelay(t, outbox.NewRelay(st, js, n, nil, outbox.WithBatch(7)))
	waitPublished(t, st)

	msgs := outboxtest.ReadAll(t, js, n)
	if len(msgs) != len(ids) {
		t.Fatalf("stream holds %d messages, want %d", len(msgs), len(ids))
	}
	for i, m := range msgs {
		if m.Env.ID != ids[i] || m.MsgID != ids[i].String() {
			t.Fatalf("message %d: id %s, Nats-Msg-Id %q; want %s", i, m.Env.ID, m.MsgID, ids[i])
		}
		if want := n.Subject(m.Env.Type); m.Subject != want {
			t.Fatalf("message %d on %s, want %s", i, m.Subject, want)
		}
	}
}

func TestTwoRelaysPublishEachRowOnce(t *testing.T) {
	st := dbtest.New(t)
	js, n := outboxtest.NATS(t)
	regA, regB := prometheus.NewRegistry(), prometheus.NewRegistry()
	a := outbox.NewRelay(st, js, n, regA, outbox.WithBatch(16))
	b := outbox.NewRelay(st, js, n, regB, outbox.WithBatch(16))
	startRelay(t, a)
	startRelay(t, b)

	const writers, each = 8, 100
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				outboxtest.Enqueue(t, st, n, events.AllocationActive, events.Balance{BalanceMinor: int64(w*each + i)})
			}
		})
	}
	wg.Wait()
	waitPublished(t, st)

	assertEachOnce(t, outboxtest.ReadAll(t, js, n), writers*each)
	pa, pb := publishedTotal(t, regA), publishedTotal(t, regB)
	if pa+pb != writers*each {
		t.Fatalf("relays marked %v + %v rows, want %d in all", pa, pb, writers*each)
	}
	t.Logf("relay A published %v, relay B %v", pa, pb)
}

// TestRelayCrashBeforeCommit: the first relay publishes a batch and dies
// before its commit; the next one publishes the same rows again, and the
// stream's duplicate window keeps one copy of each.
func TestRelayCrashBeforeCommit(t *testing.T) {
	st := dbtest.New(t)
	js, n := outboxtest.NATS(t)
	for i := range 30 {
		outboxtest.Enqueue(t, st, n, events.BillingLowBalance, events.Balance{BalanceMinor: int64(i)})
	}
	ctx, crash := context.WithCancel(context.Background())
	var attempts atomic.Int32
	dying := outbox.NewRelay(st, js, n, nil, outbox.WithBatch(10), outbox.WithBeforeCommit(func(*store.Store, []uuid.UUID) error {
		attempts.Add(1)
		crash()
		return errors.New("crash before commit")
	}))
	if err := dying.Run(ctx); err != nil {
		t.Fatalf("run: %v", err)
	}
	if attempts.Load() != 1 || outboxtest.StreamCount(t, js, n) != 10 {
		t.Fatalf("crashed relay: %d attempts, %d messages in stream; want 1 and 10",
			attempts.Load(), outboxtest.StreamCount(t, js, n))
	}
	if pending, _ := st.CountPendingOutbox(context.Background()); pending != 30 {
		t.Fatalf("%d rows pending after the crash, want all 30", pending)
	}

	startRelay(t, outbox.NewRelay(st, js, n, nil, outbox.WithBatch(10)))
	waitPublished(t, st)
	assertEachOnce(t, outboxtest.ReadAll(t, js, n), 30)
}

// TestRelayCommitsWithoutWaiting: a batch's transaction commits without
// waiting for the disk (a lost commit only means a republish, which
// TestRelayCrashBeforeCommit shows is harmless), while the transactions
// that write events keep waiting for theirs.
func TestRelayCommitsWithoutWaiting(t *testing.T) {
	st := dbtest.New(t)
	js, n := outboxtest.NATS(t)
	outboxtest.Enqueue(t, st, n, events.BillingLowBalance, events.Balance{})
	ctx, stop := context.WithCancel(context.Background())
	var setting string
	relay := outbox.NewRelay(st, js, n, nil, outbox.WithBeforeCommit(func(tx *store.Store, _ []uuid.UUID) error {
		defer stop()
		return tx.Together(ctx, func(q *db.Queries) error {
			var err error
			setting, err = q.SynchronousCommit(ctx)
			return err
		})
	}))
	if err := relay.Run(ctx); err != nil {
		t.Fatalf("run: %v", err)
	}
	if setting != "off" {
		t.Errorf("the relay's transaction has synchronous_commit %q, want off", setting)
	}
	if got, err := st.SynchronousCommit(context.Background()); err != nil || got != "on" {
		t.Errorf("other transactions have synchronous_commit %q (%v), want on", got, err)
	}
}

// TestRelayKilledMidStream cancels a relay while it drains a backlog and
// starts another: every event arrives exactly once.
func TestRelayKilledMidStream(t *testing.T) {
	st := dbtest.New(t)
	js, n := outboxtest.NATS(t)
	const total = 600
	for i := range total / 100 {
		err := st.InTx(context.Background(), func(tx *store.Store) error {
			for j := range 100 {
				if _, err := events.Enqueue(context.Background(), tx, n, events.AllocationReleased,
					events.Balance{BalanceMinor: int64(i*100 + j)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	ctx, kill := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- outbox.NewRelay(st, js, n, nil, outbox.WithBatch(5)).Run(ctx) }()
	outboxtest.Eventually(t, 10*time.Second, "first relay to publish some", func() bool {
		return outboxtest.StreamCount(t, js, n) >= 50
	})
	kill()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if c := outboxtest.StreamCount(t, js, n); c >= total {
		t.Fatalf("first relay published all %d before it was killed; the test proves nothing", c)
	}
	startRelay(t, outbox.NewRelay(st, js, n, nil))
	waitPublished(t, st)
	assertEachOnce(t, outboxtest.ReadAll(t, js, n), total)
}

// TestPublishLag commits events one per transaction at a steady rate while
// a relay runs, kicked by the store at each commit as the server wires it,
// and checks commit→publish lag on the database clock.
func TestPublishLag(t *testing.T) {
	st := dbtest.New(t)
	js, n := outboxtest.NATS(t)
	r := outbox.NewRelay(st, js, n, nil)
	st.OnEventsCommitted(r.Kick)
	startRelay(t, r)
	p50, p99 := measureLag(t, st, n, 200, 2*time.Second)
	t.Logf("commit→publish lag at 200 events/s: p50 %v, p99 %v", p50, p99)
	if p99 > 250*time.Millisecond {
		t.Fatalf("publish lag p99 %v, want under 250ms", p99)
	}
}

// TestUnkickedRowsPublishedByPoll commits events that no kick announces
// (another process wrote them): the relay's poll still publishes them.
func TestUnkickedRowsPublishedByPoll(t *testing.T) {
	st := dbtest.New(t)
	js, n := outboxtest.NATS(t)
	startRelay(t, outbox.NewRelay(st, js, n, nil, outbox.WithPollInterval(100*time.Millisecond)))
	time.Sleep(150 * time.Millisecond) // the first pass found nothing; the relay sleeps
	outboxtest.Enqueue(t, st, n, events.AllocationReleased, events.Balance{})
	waitPublished(t, st)
	assertEachOnce(t, outboxtest.ReadAll(t, js, n), 1)
}

// measureLag enqueues rate events a second for d, waits for them to be
// published and returns the lag's p50 and p99.
func measureLag(t testing.TB, st *store.Store, n events.Naming, rate int, d time.Duration) (p50, p99 time.Duration) {
	t.Helper()
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for range int(d.Seconds() * float64(rate)) {
		<-tick.C
		outboxtest.Enqueue(t, st, n, events.AllocationRequested, events.Balance{})
	}
	waitPublished(t, st)
	var a, b float64
	err := st.Pool().QueryRow(context.Background(), `
		SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY lag), percentile_cont(0.99) WITHIN GROUP (ORDER BY lag)
		FROM (SELECT EXTRACT(EPOCH FROM published_at - created_at) AS lag FROM outbox) l`).Scan(&a, &b)
	if err != nil {
		t.Fatal(err)
	}
	return time.Duration(a * float64(time.Second)), time.Duration(b * float64(time.Second))
}

func startRelay(t testing.TB, r *outbox.Relay) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("relay run: %v", err)
		}
	})
}

func waitPublished(t testing.TB, st *store.Store) {
	t.Helper()
	outboxtest.Eventually(t, 20*time.Second, "every outbox row to be published", func() bool {
		n, err := st.CountPendingOutbox(context.Background())
		return err == nil && n == 0
	})
}

func assertEachOnce(t *testing.T, msgs []outboxtest.Msg, want int) {
	t.Helper()
	seen := map[uuid.UUID]int{}
	for _, m := range msgs {
		if m.MsgID != m.Env.ID.String() {
			t.Fatalf("Nats-Msg-Id %q on event %s", m.MsgID, m.Env.ID)
		}
		seen[m.Env.ID]++
	}
	var dups []string
	for id, c := range seen {
		if c > 1 {
			dups = append(dups, fmt.Sprintf("%s×%d", id, c))
		}
	}
	sort.Strings(dups)
	if len(dups) > 0 || len(seen) != want || len(msgs) != want {
		t.Fatalf("stream holds %d messages for %d events, want %d each once; duplicates %v", len(msgs), len(seen), want, dups)
	}
}

func publishedTotal(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "gpuaas_outbox_published_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatal("gpuaas_outbox_published_total not registered")
	return 0
}
