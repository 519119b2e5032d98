package agentproto

import (
	"log"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/yamux"
)

// coalesceMax bounds the bytes a coalescing conn holds before writers wait,
// and each message it sends: what is pending goes out in messages of at
// most this much (the peer reads a byte stream, so where one ends does not
// matter), under the peers' read limit of MaxMessage + 64 KiB whatever the
// size of one yamux frame (up to StreamWindow).
const coalesceMax = 512 << 10

// Coalesce wraps the agent connection (a websocket seen as a byte stream)
// so that writes made while the previous one is still going out are sent
// together. yamux writes every frame as a header and a body, and over a
// websocket each write is a message and a syscall of its own; under load
// this turns thousands of small messages into a few large ones, and when
// idle it costs one goroutine hand-off. Reads pass straight through.
func Coalesce(c net.Conn) net.Conn {
	cc := &coalescingConn{Conn: c, drained: make(chan struct{})}
	cc.cond = sync.NewCond(&cc.mu)
	go cc.flush()
	return cc
}

type coalescingConn struct {
	net.Conn

	mu      sync.Mutex
	cond    *sync.Cond
	pending []byte
	spare   []byte
	err     error // the first write error; every later Write returns it
	closed  bool
	drained chan struct{} // closed when the flusher has stopped
}

func (c *coalescingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.pending) >= coalesceMax && c.err == nil && !c.closed {
		c.cond.Wait()
	}
	if c.err != nil {
		return 0, c.err
	}
	if c.closed {
		return 0, net.ErrClosed
	}
	c.pending = append(c.pending, p...)
	c.cond.Broadcast()
	return len(p), nil
}

// flush writes whatever is pending, as one write, until closed and empty.
func (c *coalescingConn) flush() {
	defer close(c.drained)
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		for len(c.pending) == 0 && !c.closed {
			c.cond.Wait()
		}
		if len(c.pending) == 0 || c.err != nil {
			return // closed with nothing left, or the conn is broken
		}
		out := c.pending
		c.pending = c.spare[:0]
		c.mu.Unlock()
		var err error
		for rest := out; len(rest) > 0 && err == nil; {
			n := min(len(rest), coalesceMax)
			_, err = c.Conn.Write(rest[:n])
			rest = rest[n:]
		}
		c.mu.Lock()
		c.spare = out[:0]
		if err != nil {
			c.err = err
		}
		c.cond.Broadcast()
	}
}

// Close sends what is pending (waiting at most a second) and closes.
func (c *coalescingConn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.cond.Broadcast()
	c.mu.Unlock()
	select {
	case <-c.drained:
	case <-time.After(time.Second):
	}
	return c.Conn.Close()
}

// StreamWindow is the most a yamux stream of the agent connection buffers
// unread at its receiver. Yamux's default (256 KiB) caps one stream at a
// window per round trip, which starves a large download through the app
// proxy; more only costs memory where a reader falls behind.
const StreamWindow = 2 << 20

// YamuxConfig is the session configuration both ends of the agent
// connection use, logging through logger.
func YamuxConfig(logger *log.Logger) *yamux.Config {
	c := yamux.DefaultConfig()
	c.MaxStreamWindowSize = StreamWindow
	c.LogOutput = nil
	c.Logger = logger
	return c
}
