package agentproto

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
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
