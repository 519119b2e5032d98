package agentproto

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// countingConn counts the writes that reach it.
type countingConn struct {
	net.Conn
	writes int
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes++
	return c.Conn.Write(p)
}

// TestCoalesceKeepsOrderAndMergesWrites: a thousand small writes arrive
// whole and in order, in fewer writes on the wire while the reader lags,
// what is pending at Close still goes out, and writes after a broken
// conn fail instead of vanishing.
func TestCoalesceKeepsOrderAndMergesWrites(t *testing.T) {
	a, b := net.Pipe()
	under := &countingConn{Conn: a}
	c := Coalesce(under)
	var want bytes.Buffer
	got := make(chan []byte)
	go func() {
		all, _ := io.ReadAll(b)
		got <- all
	}()
	for i := range 1000 {
		msg := fmt.Appendf(nil, "frame-%04d;", i)
		want.Write(msg)
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if all := <-got; !bytes.Equal(all, want.Bytes()) {
		t.Fatalf("received %d bytes, want %d in order", len(all), want.Len())
	}
	if under.writes >= 1000 {
		t.Errorf("%d writes reached the conn for 1000 small writes; want them merged", under.writes)
	}
	if _, err := c.Write([]byte("late")); !errors.Is(err, net.ErrClosed) && err == nil {
		t.Errorf("write after close: %v", err)
	}

	// A broken conn: the error surfaces on a later Write.
	x, y := net.Pipe()
	y.Close()
	cx := Coalesce(x)
	defer cx.Close()
	var err error
	for deadline := time.Now().Add(5 * time.Second); err == nil && time.Now().Before(deadline); {
		_, err = cx.Write([]byte("data"))
		time.Sleep(time.Millisecond)
	}
	if err == nil {
		t.Error("writes to a broken conn kept succeeding")
	}
}

// TestCoalesceSplitsLargeWrites: one write larger than a message may be
// (a yamux frame of a full StreamWindow) leaves as several messages, each
// under the peer's read limit, in order.
func TestCoalesceSplitsLargeWrites(t *testing.T) {
	a, b := net.Pipe()
	rec := &messages{Conn: a}
	c := Coalesce(rec)
	big := make([]byte, StreamWindow+100)
	for i := range big {
		big[i] = byte(i)
	}
	go func() { _, _ = io.Copy(io.Discard, b) }()
	if _, err := c.Write(big); err != nil {
		t.Fatal(err)
	}
	c.Close()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var got []byte
	for _, m := range rec.sizes {
		if m > MaxMessage {
			t.Errorf("a message of %d bytes, over the limit %d", m, MaxMessage)
		}
	}
	got = rec.data
	if !bytes.Equal(got, big) {
		t.Errorf("got %d bytes, not what was written", len(got))
	}
}

// messages records each Write as one message.
type messages struct {
	net.Conn
	mu    sync.Mutex
	sizes []int
	data  []byte
}

func (m *messages) Write(p []byte) (int, error) {
	m.mu.Lock()
	m.sizes = append(m.sizes, len(p))
	m.data = append(m.data, p...)
	m.mu.Unlock()
	return m.Conn.Write(p)
}
