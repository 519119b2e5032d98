package consumer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
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
	durables, err := r.ensure(ctx, js)
	if err != nil {
		return err
	}
	// One pull loop per durable; handlers share the concurrency limit and
	// run on ctx, so a loop that fails stops its siblings' pulls but not
	// the handlers already running.
	pulls, stop := context.WithCancel(ctx)
	defer stop()
	sem := make(chan struct{}, cfg.Concurrency)
	var handlers sync.WaitGroup
	defer handlers.Wait()
	errs := make(chan error, len(durables))
	for _, d := range durables {
		go func() { errs <- r.pull(ctx, pulls, d, sem, &handlers) }()
	}
	var first error
	for range durables {
		if err := <-errs; err != nil && first == nil {
			first = err
			stop()
		}
	}
	return first
}

// pull hands one durable's messages to handlers until pulls ends (nil) or
// the durable is gone (an error).
func (r *runner) pull(ctx, pulls context.Context, cons jetstream.Consumer, sem chan struct{}, handlers *sync.WaitGroup) error {
	name := cons.CachedInfo().Name
	it, err := cons.Messages(jetstream.PullMaxMessages(r.cfg.Concurrency))
	if err != nil {
		return fmt.Errorf("consume %s: %w", name, err)
	}
	stop := context.AfterFunc(pulls, it.Stop)
	defer stop()
	defer it.Stop()
	for {
		msg, err := it.Next()
		if pulls.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
			if msg != nil {
				_ = msg.Nak() // fetched but never started: hand it on now
			}
			return nil
		}
		if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) ||
			errors.Is(err, nats.ErrConnectionClosed) {
			return fmt.Errorf("consume %s: %w", name, err)
		}
		if err != nil {
			r.cfg.Logger.Warn("consumer: next message", "consumer", name, "err", err)
			continue // missed heartbeats and the like: the iterator recovers
		}
		select {
		case sem <- struct{}{}:
		case <-pulls.Done():
			_ = msg.Nak()
			return nil
		}
		handlers.Go(func() {
			defer func() { <-sem }()
			r.handle(ctx, msg)
		})
	}
}

// ensure creates or updates the consumer's durables and returns them: one
// that filters every type where the server can (NATS 2.10 and later), and
// one per type where it cannot, so no durable is sent events it only
// skips (each of those costs a delivery and an ack).
//
// Which form a consumer has is kept once chosen, since changing it means
// new durables: per-type durables that exist stay in use on any server.
// A new durable starts where its siblings have acknowledged up to, or
// where the single durable that an earlier version used (which took every
// event and skipped the rest here) had; that one is deleted once its
// replacements exist. Starting there redelivers at most what was in
// flight, which ApplyOnce absorbs.
//
// Backoff is applied with NakWithDelay, not the consumer's server-side
// BackOff, because the server turns BackOff[0] into the ack wait: a
// handler slower than the first backoff would be redelivered while still
// running. MaxDeliver has one spare delivery so that an event whose last
// delivery was lost to a crash is tried once more and dead-lettered, not
// silently dropped.
func (r *runner) ensure(ctx context.Context, js jetstream.JetStream) ([]jetstream.Consumer, error) {
	stream := r.naming.Stream()
	if len(r.cfg.Types) == 1 {
		have, err := r.find(ctx, js, r.cfg.Name)
		if err != nil {
			return nil, err
		}
		c, err := r.put(ctx, js, r.config(r.cfg.Name, r.cfg.Types...), have, 0)
		return []jetstream.Consumer{c}, err
	}
	existing := map[string]jetstream.Consumer{}
	for _, t := range r.cfg.Types {
		c, err := r.find(ctx, js, r.typeDurable(t))
		if err != nil {
			return nil, err
		}
		if c != nil {
			existing[t] = c
		}
	}
	if len(existing) == 0 {
		c, err := js.CreateOrUpdateConsumer(ctx, stream, r.config(r.cfg.Name, r.cfg.Types...))
		if err == nil {
			return []jetstream.Consumer{c}, nil
		}
		if !errors.Is(err, jetstream.ErrConsumerMultipleFilterSubjectsNotSupported) {
			return nil, fmt.Errorf("create consumer %s on %s: %w", r.cfg.Name, stream, err)
		}
		r.cfg.Logger.Info("consumer: server cannot filter several subjects; one durable per event type", "consumer", r.cfg.Name)
	}
	// Where new durables start: after what the old single durable, or
	// else the least advanced sibling, acknowledged.
	var start uint64
	old, err := r.find(ctx, js, r.cfg.Name)
	if err != nil {
		return nil, err
	}
	if old != nil {
		start = old.CachedInfo().AckFloor.Stream + 1
	} else {
		for _, c := range existing {
			if s := c.CachedInfo().AckFloor.Stream + 1; start == 0 || s < start {
				start = s
			}
		}
	}
	durables := make([]jetstream.Consumer, 0, len(r.cfg.Types))
	for _, t := range r.cfg.Types {
		c, err := r.put(ctx, js, r.config(r.typeDurable(t), t), existing[t], start)
		if err != nil {
			return nil, err
		}
		durables = append(durables, c)
	}
	if old != nil {
		if err := js.DeleteConsumer(ctx, stream, r.cfg.Name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return nil, fmt.Errorf("delete consumer %s on %s, replaced by one per event type: %w", r.cfg.Name, stream, err)
		}
	}
	return durables, nil
}

// config is a durable's configuration, filtering types.
func (r *runner) config(durable string, types ...string) jetstream.ConsumerConfig {
	cc := jetstream.ConsumerConfig{
		Durable:       durable,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       r.cfg.AckWait,
		MaxDeliver:    r.cfg.MaxDeliver + 1,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	for _, t := range types {
		cc.FilterSubjects = append(cc.FilterSubjects, r.naming.Subject(t))
	}
	if len(cc.FilterSubjects) == 1 {
		cc.FilterSubject, cc.FilterSubjects = cc.FilterSubjects[0], nil
	}
	return cc
}

// find returns the durable named durable, or nil when there is none.
func (r *runner) find(ctx context.Context, js jetstream.JetStream, durable string) (jetstream.Consumer, error) {
	c, err := js.Consumer(ctx, r.naming.Stream(), durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read consumer %s on %s: %w", durable, r.naming.Stream(), err)
	}
	return c, nil
}

// put updates have, cc's durable as find returned it, keeping where it
// started (the server refuses to change that), or creates it when have is
// nil, starting at stream sequence start (0: the beginning).
func (r *runner) put(ctx context.Context, js jetstream.JetStream, cc jetstream.ConsumerConfig, have jetstream.Consumer, start uint64) (jetstream.Consumer, error) {
	stream := r.naming.Stream()
	if have != nil {
		cur := have.CachedInfo().Config
		cc.DeliverPolicy, cc.OptStartSeq = cur.DeliverPolicy, cur.OptStartSeq
		c, err := js.UpdateConsumer(ctx, stream, cc)
		if err != nil {
			return nil, fmt.Errorf("update consumer %s on %s: %w", cc.Durable, stream, err)
		}
		return c, nil
	}
	if start > 0 {
		cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, start
	}
	c, err := js.CreateConsumer(ctx, stream, cc)
	if err != nil {
		// Another replica may have created it meanwhile: use that one.
		if c, gerr := js.Consumer(ctx, stream, cc.Durable); gerr == nil {
			return c, nil
		}
		return nil, fmt.Errorf("create consumer %s on %s: %w", cc.Durable, stream, err)
	}
	return c, nil
}

// typeDurable names the durable that takes only events of type t.
func (r *runner) typeDurable(t string) string {
	return r.cfg.Name + "_" + strings.ReplaceAll(t, ".", "_")
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
