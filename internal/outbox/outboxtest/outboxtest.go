// Package outboxtest gives tests of the event pipeline a real JetStream
// with a private namespace and stream, and helpers to read it back. It is
// for tests only.
package outboxtest

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/outbox"
	"github.com/gpuaas/gpuaas/internal/store"
)

// DefaultURL is used when GPUAAS_TEST_NATS_URL is unset.
const DefaultURL = "nats://127.0.0.1:4222"

// NATS connects to the test NATS, creates the events stream for a fresh
// namespace, and deletes it on cleanup.
func NATS(t testing.TB) (jetstream.JetStream, events.Naming) {
	t.Helper()
	_, js := Connect(t)
	return stream(t, js)
}

// NATSAt is NATS on the server at url (another version beside the test
// NATS, say).
func NATSAt(t testing.TB, url string) (jetstream.JetStream, events.Naming) {
	t.Helper()
	_, js := connect(t, url)
	return stream(t, js)
}

// stream creates the events stream for a fresh namespace on js, deleted
// on cleanup.
func stream(t testing.TB, js jetstream.JetStream) (jetstream.JetStream, events.Naming) {
	t.Helper()
	n := events.Naming{Namespace: "t" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := outbox.EnsureStream(ctx, js, n); err != nil {
		t.Fatalf("outboxtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := js.DeleteStream(ctx, n.Stream()); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Logf("outboxtest: delete stream %s: %v", n.Stream(), err)
		}
	})
	return js, n
}

// Connect opens a connection of its own to the test NATS (GPUAAS_TEST_NATS_URL,
// default DefaultURL), closed on cleanup; close it earlier to simulate a crash.
func Connect(t testing.TB) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	return connect(t, URL())
}

// URL is the test NATS: GPUAAS_TEST_NATS_URL, default DefaultURL.
func URL() string {
	if url := os.Getenv("GPUAAS_TEST_NATS_URL"); url != "" {
		return url
	}
	return DefaultURL
}

func connect(t testing.TB, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("outboxtest: connect to %s: %v (is NATS running?)", url, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("outboxtest: jetstream: %v", err)
	}
	return nc, js
}

// Eventually polls cond every 10ms until it holds, failing the test with
// what after timeout.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Enqueue commits one event of type typ in its own transaction.
func Enqueue(t testing.TB, st *store.Store, n events.Naming, typ string, data any) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	var id uuid.UUID
	err := st.InTx(ctx, func(tx *store.Store) error {
		var err error
		id, err = events.Enqueue(ctx, tx, n, typ, data)
		return err
	})
	if err != nil {
		t.Fatalf("outboxtest: %v", err)
	}
	return id
}

// Msg is one message read back from the stream.
type Msg struct {
	Subject string
	MsgID   string // Nats-Msg-Id header
	Env     events.Envelope
}

// StreamCount is how many messages the stream holds.
func StreamCount(t testing.TB, js jetstream.JetStream, n events.Naming) uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), n.Stream())
	if err != nil {
		t.Fatalf("outboxtest: stream: %v", err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatalf("outboxtest: stream info: %v", err)
	}
	return info.State.Msgs
}

// ReadAll returns every message in the stream, in stream order.
func ReadAll(t testing.TB, js jetstream.JetStream, n events.Naming) []Msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	want := StreamCount(t, js, n)
	c, err := js.OrderedConsumer(ctx, n.Stream(), jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatalf("outboxtest: ordered consumer: %v", err)
	}
	var out []Msg
	for uint64(len(out)) < want {
		batch, err := c.Fetch(int(min(500, want-uint64(len(out)))), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatalf("outboxtest: fetch: %v", err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			var env events.Envelope
			if err := json.Unmarshal(m.Data(), &env); err != nil {
				t.Fatalf("outboxtest: decode %s: %v", m.Subject(), err)
			}
			out = append(out, Msg{Subject: m.Subject(), MsgID: m.Headers().Get(jetstream.MsgIDHeader), Env: env})
		}
		if err := batch.Error(); err != nil {
			t.Fatalf("outboxtest: fetch: %v", err)
		}
		if got == 0 {
			t.Fatalf("outboxtest: stream says %d messages, read %d", want, len(out))
		}
	}
	return out
}
