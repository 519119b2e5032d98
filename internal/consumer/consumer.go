package consumer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Handler applies one event. A nil error acks it; an error has it
// redelivered later, or dead-lettered after its last delivery.
type Handler func(ctx context.Context, env events.Envelope) error

// Config describes one durable consumer.
type Config struct {
	Name        string          // durable name, unique per consumer; also the ApplyOnce key
	Types       []string        // event types to receive
	MaxDeliver  int             // deliveries before dead-lettering (default 8)
	Backoff     []time.Duration // delay before delivery n+1 after failure n; the last repeats
	AckWait     time.Duration   // redelivery after a silent consumer (default 30s); handlers are kept alive while running
	Concurrency int             // handlers running at once (default 4)
	Logger      *slog.Logger    // default slog.Default()
}

// DefaultBackoff spreads a failing event's deliveries over about two
// minutes, long enough to ride out a database failover.
var DefaultBackoff = []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute}

func (c Config) withDefaults() (Config, error) {
	if c.Name == "" {
		return c, errors.New("consumer name is empty")
	}
	if len(c.Types) == 0 {
		return c, fmt.Errorf("consumer %s has no event types", c.Name)
	}
	for _, t := range c.Types {
		if !slices.Contains(events.Types, t) {
			return c, fmt.Errorf("consumer %s: unknown event type %q", c.Name, t)
		}
	}
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = 8
	}
	if len(c.Backoff) == 0 {
		c.Backoff = DefaultBackoff
	}
	if c.AckWait <= 0 {
		c.AckWait = 30 * time.Second
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 4
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

type runner struct {
	cfg    Config
	st     *store.Store
	naming events.Naming
	h      Handler
	m      *metrics
	want   map[string]bool // non-nil when the server could not filter for us
}

// Run consumes events of cfg.Types from n's stream until ctx ends, then
// waits for running handlers and returns nil. It returns an error when the
// consumer cannot be set up or is deleted under it. Metrics go to reg when
// it is not nil.
func Run(ctx context.Context, js jetstream.JetStream, st *store.Store, n events.Naming, cfg Config, h Handler, reg prometheus.Registerer) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return fmt.Errorf("configure consumer: %w", err)
	}
	r := &runner{cfg: cfg, st: st, naming: n, h: h, m: newMetrics(reg)}
	cons, err := r.ensure(ctx, js)
	if err != nil {
		return err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(cfg.Concurrency))
	if err != nil {
		return fmt.Errorf("consume %s: %w", cfg.Name, err)
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()

	sem := make(chan struct{}, cfg.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		msg, err := it.Next()
		if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
			if msg != nil {
				_ = msg.Nak() // fetched but never started: hand it on now
			}
			return nil
		}
		if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) ||
			errors.Is(err, nats.ErrConnectionClosed) {
			return fmt.Errorf("consume %s: %w", cfg.Name, err)
		}
		if err != nil {
			cfg.Logger.Warn("consumer: next message", "consumer", cfg.Name, "err", err)
			continue // missed heartbeats and the like: the iterator recovers
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			_ = msg.Nak()
			return nil
		}
		wg.Go(func() {
			defer func() { <-sem }()
			r.handle(ctx, msg)
		})
	}
}

// ensure creates or updates the durable consumer. Backoff is applied with
// NakWithDelay, not the consumer's server-side BackOff, because the server
// turns BackOff[0] into the ack wait: a handler slower than the first
// backoff would be redelivered while still running. MaxDeliver has one
// spare delivery so that an event whose last delivery was lost to a crash
// is tried once more and dead-lettered, not silently dropped.
func (r *runner) ensure(ctx context.Context, js jetstream.JetStream) (jetstream.Consumer, error) {
	cc := jetstream.ConsumerConfig{
		Durable:       r.cfg.Name,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       r.cfg.AckWait,
		MaxDeliver:    r.cfg.MaxDeliver + 1,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	for _, t := range r.cfg.Types {
		cc.FilterSubjects = append(cc.FilterSubjects, r.naming.Subject(t))
	}
	if len(cc.FilterSubjects) == 1 {
		cc.FilterSubject, cc.FilterSubjects = cc.FilterSubjects[0], nil
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, r.naming.Stream(), cc)
	if errors.Is(err, jetstream.ErrConsumerMultipleFilterSubjectsNotSupported) {
		// NATS before 2.10: take every event and skip unwanted ones here.
		r.cfg.Logger.Info("consumer: server cannot filter several subjects; filtering here", "consumer", r.cfg.Name)
		r.want = map[string]bool{}
		for _, t := range r.cfg.Types {
			r.want[t] = true
		}
		cc.FilterSubjects = nil
		cons, err = js.CreateOrUpdateConsumer(ctx, r.naming.Stream(), cc)
	}
	if err != nil {
		return nil, fmt.Errorf("create consumer %s on %s: %w", r.cfg.Name, r.naming.Stream(), err)
	}
	return cons, nil
}

func (r *runner) handle(ctx context.Context, msg jetstream.Msg) {
	md, err := msg.Metadata()
	if err != nil {
		r.cfg.Logger.Error("consumer: read message metadata", "consumer", r.cfg.Name, "err", err)
		r.m.result(r.cfg.Name, "error")
		_ = msg.Nak()
		return
	}
	delivered := int(md.NumDelivered)
	if r.want != nil && !r.want[r.naming.TypeOf(msg.Subject())] {
		r.m.result(r.cfg.Name, "skipped")
		_ = msg.Ack()
		return
	}
	var env events.Envelope
	if err := json.Unmarshal(msg.Data(), &env); err != nil || env.ID == uuid.Nil || env.Type == "" {
		// No redelivery will make it decode.
		r.deadLetter(ctx, msg, msg.Headers().Get(jetstream.MsgIDHeader), delivered, fmt.Errorf("decode envelope: %v", err))
		return
	}
	err = r.call(ctx, msg, env)
	switch {
	case err == nil:
		r.m.result(r.cfg.Name, "ok")
		_ = msg.Ack() // a lost ack means a redelivery, which ApplyOnce absorbs
	case ctx.Err() != nil:
		// Shutting down is not the event's fault: hand it on now.
		r.m.result(r.cfg.Name, "aborted")
		_ = msg.Nak()
	case delivered >= r.cfg.MaxDeliver:
		r.deadLetter(ctx, msg, env.ID.String(), delivered, err)
	default:
		r.m.result(r.cfg.Name, "retry")
		r.cfg.Logger.Warn("consumer: handler failed; will retry", "consumer", r.cfg.Name,
			"event", env.ID, "type", env.Type, "delivery", delivered, "err", err)
		_ = msg.NakWithDelay(r.backoff(delivered))
	}
}

// call runs the handler, telling the server it is still working so a slow
// handler is not redelivered under itself, and turns a panic into an error.
func (r *runner) call(ctx context.Context, msg jetstream.Msg, env events.Envelope) (err error) {
	tick := time.NewTicker(r.cfg.AckWait / 3)
	done := make(chan struct{})
	defer func() { close(done); tick.Stop() }()
	go func() {
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				_ = msg.InProgress()
			}
		}
	}()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return r.h(ctx, env)
}

func (r *runner) backoff(delivered int) time.Duration {
	return r.cfg.Backoff[min(delivered, len(r.cfg.Backoff))-1]
}

// deadLetter records the event for an operator and terminates it. If the
// record cannot be written the event is nakked instead, so it is not lost.
func (r *runner) deadLetter(ctx context.Context, msg jetstream.Msg, eventID string, delivered int, cause error) {
	err := r.st.InsertDeadLetter(context.WithoutCancel(ctx), db.InsertDeadLetterParams{
		Consumer: r.cfg.Name, EventID: eventID, Subject: msg.Subject(), Payload: msg.Data(),
		Error: cause.Error(), Deliveries: int32(delivered),
	})
	if err != nil {
		r.m.result(r.cfg.Name, "error")
		r.cfg.Logger.Error("consumer: write dead letter", "consumer", r.cfg.Name, "event", eventID, "err", err)
		_ = msg.NakWithDelay(r.backoff(delivered))
		return
	}
	r.m.result(r.cfg.Name, "dead_letter")
	r.m.deadLetters.WithLabelValues(r.cfg.Name).Inc()
	r.cfg.Logger.Error("consumer: dead-lettered event", "consumer", r.cfg.Name, "event", eventID,
		"subject", msg.Subject(), "deliveries", delivered, "err", cause)
	_ = msg.Term()
}
