package connlimit

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/internal/apperr"
)

// Error codes of a refusal.
const (
	// CodeTooManyWebsockets: the user holds the most sockets allowed (429).
	CodeTooManyWebsockets = "too_many_websockets"
	// CodeTooManyConnections: the replica holds the most sockets allowed (503).
	CodeTooManyConnections = "too_many_connections"
)

// retryAfter is what a refusal suggests; the client must close a socket (or
// wait for others to) before the next try can succeed.
const retryAfter = 5 * time.Second

// Limiter counts open connections. Its zero value is not usable; call New.
type Limiter struct {
	perKey, total int

	mu    sync.Mutex
	open  int
	byKey map[string]int

	conns   *prometheus.GaugeVec
	refused *prometheus.CounterVec
}

// New returns a Limiter that allows perKey connections per key and total in
// all. reg may be nil.
func New(perKey, total int, reg prometheus.Registerer) *Limiter {
	l := &Limiter{
		perKey: perKey, total: total, byKey: map[string]int{},
		conns: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gpuaas_websocket_connections",
			Help: "User websockets open on this replica, by kind (notifications, terminal).",
		}, []string{"kind"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gpuaas_websocket_refused_total",
			Help: "User websockets refused before the upgrade, by reason (per_user, total).",
		}, []string{"reason"}),
	}
	for _, r := range []string{"per_user", "total"} {
		l.refused.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(l.conns, l.refused)
	}
	return l
}

// Acquire takes a place for one connection of kind held by key. It returns
// release, which gives the place back and must be called exactly once when
// the connection ends, or a 429 (key at its cap) or 503 (replica at its cap)
// error.
func (l *Limiter) Acquire(key, kind string) (release func(), err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open >= l.total {
		l.refused.WithLabelValues("total").Inc()
		return nil, &apperr.Error{Kind: apperr.KindUnavailable, Code: CodeTooManyConnections, RetryAfter: retryAfter,
			Message: "this server holds as many websockets as it allows; try again shortly"}
	}
	if l.byKey[key] >= l.perKey {
		l.refused.WithLabelValues("per_user").Inc()
		return nil, &apperr.Error{Kind: apperr.KindRateLimited, Code: CodeTooManyWebsockets, RetryAfter: retryAfter,
			Message: "you hold as many websockets as allowed; close one first"}
	}
	l.open++
	l.byKey[key]++
	gauge := l.conns.WithLabelValues(kind)
	gauge.Inc()
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.open--
			if l.byKey[key]--; l.byKey[key] <= 0 {
				delete(l.byKey, key)
			}
			gauge.Dec()
		})
	}, nil
}
