package notify

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/prom"
)

// DefaultBuffer is how many messages a connection may have waiting before
// it is dropped as too slow.
const DefaultBuffer = 64

// Subprotocol is the websocket subprotocol a browser offers first, with the
// access token as the second entry of Sec-WebSocket-Protocol.
const Subprotocol = "bearer"

const writeTimeout = 10 * time.Second

type metrics struct {
	connections prometheus.Gauge
	forwarded   prometheus.Counter
	writeErrors prometheus.Counter
	dropped     prometheus.Counter
}

// Hub serves the per-user notification websockets.
type Hub struct {
	nc     *nats.Conn
	naming events.Naming
	// Buffer is the per-connection queue length (DefaultBuffer when 0).
	Buffer int
	m      metrics
}

// NewHub subscribes on nc under n's namespace; metrics go to reg.
func NewHub(nc *nats.Conn, n events.Naming, reg prometheus.Registerer) *Hub {
	return &Hub{nc: nc, naming: n, Buffer: DefaultBuffer, m: metrics{
		connections: prom.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gpuaas_notify_connections", Help: "Open notification websockets.",
		})),
		forwarded: prom.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gpuaas_notify_forwarded_total", Help: "Notifications written to websocket clients.",
		})),
		writeErrors: prom.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gpuaas_notify_write_errors_total", Help: "Notification websocket writes that failed.",
		})),
		dropped: prom.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gpuaas_notify_dropped_clients_total", Help: "Notification clients dropped for not keeping up.",
		})),
	}}
}

// Serve upgrades an authenticated request of user to a websocket and
// forwards user's notifications to it as text frames until either side
// closes, or until expires (the access token's expiry; zero for none).
// On failure before the upgrade it returns an error and has written
// nothing; after it, it returns nil.
func (h *Hub) Serve(w http.ResponseWriter, r *http.Request, user uuid.UUID, expires time.Time) error {
	size := h.Buffer
	if size <= 0 {
		size = DefaultBuffer
	}
	queue := make(chan []byte, size)
	overflow := make(chan struct{})
	var once sync.Once
	sub, err := h.nc.Subscribe(Subject(h.naming, user), func(m *nats.Msg) {
		// Never block the NATS callback: a full queue drops the client.
		select {
		case queue <- m.Data:
		default:
			once.Do(func() { close(overflow) })
		}
	})
	if err != nil {
		return fmt.Errorf("subscribe to notifications: %w", err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	// An account suspended or deleted on any replica closes its sockets
	// everywhere.
	ended := make(chan string, 1)
	endSub, err := h.nc.Subscribe(EndSubject(h.naming, user), func(m *nats.Msg) {
		select {
		case ended <- string(m.Data):
		default:
		}
	})
	if err != nil {
		return fmt.Errorf("subscribe to notifications: %w", err)
	}
	defer func() { _ = endSub.Unsubscribe() }()
	// The subscription is in place at the server before the client learns
	// it is connected, so nothing published after that is missed.
	if err := h.nc.FlushTimeout(5 * time.Second); err != nil {
		return fmt.Errorf("subscribe to notifications: %w", err)
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{Subprotocol}})
	if err != nil {
		return nil // Accept has answered the client
	}
	h.m.connections.Inc()
	defer h.m.connections.Dec()
	// Reads only serve pings and the close handshake; ctx ends with the
	// connection.
	ctx := c.CloseRead(context.WithoutCancel(r.Context()))
	var expiry <-chan time.Time
	if !expires.IsZero() {
		t := time.NewTimer(time.Until(expires))
		defer t.Stop()
		expiry = t.C
	}
	for {
		select {
		case <-ctx.Done():
			c.CloseNow()
			return nil
		case <-expiry:
			_ = c.Close(websocket.StatusPolicyViolation, "access token expired")
			return nil
		case why := <-ended:
			_ = c.Close(websocket.StatusPolicyViolation, why)
			return nil
		case <-overflow:
			h.m.dropped.Inc()
			_ = sub.Unsubscribe()
			closeSlow(c)
			return nil
		case msg := <-queue:
			wctx, cancel := context.WithTimeout(ctx, writeTimeout)
			err := c.Write(wctx, websocket.MessageText, msg)
			cancel()
			if err != nil {
				h.m.writeErrors.Inc()
				slog.Debug("notify: write", "user", user, "err", err)
				c.CloseNow()
				return nil
			}
			h.m.forwarded.Inc()
		}
	}
}

// EndSubject is the core NATS subject on which every replica hears that
// userID's sockets must close.
func EndSubject(n events.Naming, userID uuid.UUID) string {
	return n.Namespace + ".notify.end.user." + userID.String()
}

// EndUser closes userID's notification sockets on every replica with a
// policy-violation close carrying why (at most 123 bytes, a close
// reason's limit): the account was suspended or deleted.
func (h *Hub) EndUser(userID uuid.UUID, why string) error {
	if len(why) > 123 {
		why = why[:123]
	}
	if err := h.nc.Publish(EndSubject(h.naming, userID), []byte(why)); err != nil {
		return fmt.Errorf("end notification sockets: %w", err)
	}
	return nil
}

// closeSlow closes a client that fell behind with a policy violation,
// without waiting long for a client that is not reading.
func closeSlow(c *websocket.Conn) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Close(websocket.StatusPolicyViolation, "too slow: notifications dropped")
	}()
	select {
	case <-done:
	case <-time.After(time.Second):
		c.CloseNow()
	}
}
