package outbox

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Relay publishes outbox rows to JetStream. Create it with NewRelay and
// start it with Run.
type Relay struct {
	st     *store.Store
	js     jetstream.JetStream
	naming events.Naming
	log    *slog.Logger
	m      *metrics
	wake   chan struct{}

	batch        int32
	poll         time.Duration
	publishTTL   time.Duration
	retention    time.Duration
	sweepEvery   time.Duration
	gaugeEvery   time.Duration
	beforeCommit func(*store.Store, []uuid.UUID) error // fault injection for tests
}

// Option tunes a Relay.
type Option func(*Relay)

// WithBatch sets how many rows one transaction claims (default 256).
func WithBatch(n int) Option { return func(r *Relay) { r.batch = int32(n) } }

// WithPollInterval sets how often the relay looks for rows without a
// wake-up (default 1s): the delay of rows committed by a process that did
// not kick this relay.
func WithPollInterval(d time.Duration) Option { return func(r *Relay) { r.poll = d } }

// WithRetention sets how long published rows are kept before deletion
// (default 24h), for operators to trace an event.
func WithRetention(d time.Duration) Option { return func(r *Relay) { r.retention = d } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(r *Relay) { r.log = l } }

// NewRelay returns a relay publishing st's outbox on js under n. Metrics
// are registered on reg when it is not nil; relays sharing a registry
// share the metrics.
func NewRelay(st *store.Store, js jetstream.JetStream, n events.Naming, reg prometheus.Registerer, opts ...Option) *Relay {
	r := &Relay{
		st: st, js: js, naming: n, log: slog.Default(),
		m:     newMetrics(reg),
		wake:  make(chan struct{}, 1),
		batch: 256, poll: time.Second, publishTTL: defaultPublishTTL,
		retention: 24 * time.Hour, sweepEvery: 10 * time.Minute, gaugeEvery: 5 * time.Second,
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Kick makes the relay look for rows now. The server sets it as its
// store's events-committed hook (store.Store.OnEventsCommitted), so a
// committed event is published in milliseconds; other replicas' relays
// find rows they were not kicked for at their next poll.
func (r *Relay) Kick() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run publishes until ctx ends, then returns nil. Errors (database or NATS
// down) are logged and retried at the poll interval; they never lose rows.
func (r *Relay) Run(ctx context.Context) error {
	poll := time.NewTimer(0)
	defer poll.Stop()
	var lastSweep, lastGauge time.Time
	for {
		n, err := r.publishBatch(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			r.m.errors.Inc()
			r.log.Warn("outbox relay: publish batch", "err", err)
		}
		if now := time.Now(); now.Sub(lastGauge) >= r.gaugeEvery {
			lastGauge = now
			r.updatePending(ctx)
		}
		if now := time.Now(); now.Sub(lastSweep) >= r.sweepEvery {
			lastSweep = now
			r.sweep(ctx)
		}
		if err == nil && n == int(r.batch) {
			continue // more is waiting: drain before sleeping
		}
		wake := r.wake
		if err != nil {
			wake = nil // back off a full interval: kicks must not spin a failing loop
		}
		poll.Reset(r.poll)
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-poll.C:
		}
	}
}

// Flush publishes every pending row, batch after batch, until none is left
// or ctx ends, and returns how many it published. Shutdown calls it after
// Run has stopped and the process's other writers are done, so the events
// they committed leave with this process instead of waiting for the next
// relay.
func (r *Relay) Flush(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := r.publishBatch(ctx)
		total += n
		if err != nil {
			r.m.errors.Inc()
			return total, fmt.Errorf("flush outbox: %w", err)
		}
		if n < int(r.batch) {
			return total, nil
		}
	}
}

// publishBatch claims, publishes and marks one batch in one transaction,
// and returns how many rows it published. Its commit does not wait for
// the disk: a crash that loses it leaves the rows unpublished, to be
// published again, and the stream's duplicate window drops the copies (as
// after a relay that dies before committing). So the relay adds no flush
// to the ones every create waits for.
func (r *Relay) publishBatch(ctx context.Context) (int, error) {
	var lags []float64
	err := r.st.InTx(ctx, func(tx *store.Store) error {
		if err := tx.Later().CommitWithoutWaiting(ctx); err != nil {
			return fmt.Errorf("commit without waiting: %w", err)
		}
		rows, err := tx.ClaimOutbox(ctx, r.batch)
		if err != nil {
			return fmt.Errorf("claim outbox rows: %w", err)
		}
		if len(rows) == 0 {
			return nil
		}
		ids, err := r.publish(ctx, rows)
		if err != nil {
			return err
		}
		if lags, err = tx.MarkOutboxPublishedLag(ctx, ids); err != nil {
			return fmt.Errorf("mark outbox rows published: %w", err)
		}
		if r.beforeCommit != nil {
			return r.beforeCommit(tx, ids)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	r.m.published.Add(float64(len(lags)))
	for _, l := range lags {
		r.m.lag.Observe(l)
	}
	return len(lags), nil
}

// publish sends rows asynchronously, in order on one connection, and waits
// for every ack: one round trip per batch instead of per row.
func (r *Relay) publish(ctx context.Context, rows []db.ClaimOutboxRow) ([]uuid.UUID, error) {
	futures := make([]jetstream.PubAckFuture, len(rows))
	ids := make([]uuid.UUID, len(rows))
	for i, row := range rows {
		msg := &nats.Msg{Subject: row.Subject, Data: row.Payload, Header: nats.Header{}}
		f, err := r.js.PublishMsgAsync(msg, jetstream.WithMsgID(row.ID.String()))
		if err != nil {
			return nil, fmt.Errorf("publish event %s: %w", row.ID, err)
		}
		futures[i], ids[i] = f, row.ID
	}
	deadline := time.NewTimer(r.publishTTL)
	defer deadline.Stop()
	for i, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return nil, fmt.Errorf("publish event %s: %w", ids[i], err)
		case <-deadline.C:
			return nil, fmt.Errorf("publish event %s: no ack within %s", ids[i], r.publishTTL)
		case <-ctx.Done():
			return nil, fmt.Errorf("publish event %s: %w", ids[i], ctx.Err())
		}
	}
	return ids, nil
}

func (r *Relay) updatePending(ctx context.Context) {
	n, err := r.st.CountPendingOutbox(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("outbox relay: count pending rows", "err", err)
		}
		return
	}
	r.m.pending.Set(float64(n))
}

func (r *Relay) sweep(ctx context.Context) {
	n, err := r.st.DeletePublishedOutbox(ctx, pgtype.Interval{Microseconds: r.retention.Microseconds(), Valid: true})
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("outbox relay: delete published rows", "err", err)
		}
		return
	}
	if n > 0 {
		r.log.Debug("outbox relay: deleted published rows", "rows", n)
	}
}
