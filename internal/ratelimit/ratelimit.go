package ratelimit

import (
	"context"
	"log/slog"
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/kv"
)

// Limiter applies token buckets kept in a kv.Store.
type Limiter struct {
	store    kv.Store
	failOpen *prometheus.CounterVec
}

// New returns a Limiter over store and registers its metric on reg (which
// may be nil, for tests that do not look at metrics).
func New(store kv.Store, reg prometheus.Registerer) *Limiter {
	l := &Limiter{
		store: store,
		failOpen: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gpuaas_kv_fail_open_total",
			Help: "Operations on the shared hot-state store that failed and were allowed through.",
		}, []string{"op"}),
	}
	// The series exist from the start, so a dashboard shows 0, not "no data".
	for _, op := range []string{"take", "denylist", "login_user", "login_ip"} {
		l.failOpen.WithLabelValues(op)
	}
	if reg != nil {
		reg.MustRegister(l.failOpen)
	}
	return l
}

// Take spends one token from bucket key (refilled at rate per second, holding
// at most burst). It returns nil when allowed and a rate-limited apperr when
// not. When the store fails it allows the request.
func (l *Limiter) Take(ctx context.Context, key string, rate float64, burst int) error {
	ok, retryAfter, err := l.store.Take(ctx, key, rate, burst)
	if err != nil {
		// The key names a client (address, user); it is left out of the log
		// on purpose, the error says enough to diagnose the store.
		slog.WarnContext(ctx, "rate limit store failed; allowing request", "op", "take", "err", err)
		l.FailOpen("take")
		return nil
	}
	if ok {
		return nil
	}
	return Limited(retryAfter)
}

// FailOpen counts an operation of kind op on the hot-state store that failed
// and was allowed through.
func (l *Limiter) FailOpen(op string) {
	l.failOpen.WithLabelValues(op).Inc()
}

// Limited is the error for a caller who must wait retryAfter, rounded up to
// whole seconds because that is what Retry-After can say.
func Limited(retryAfter time.Duration) *apperr.Error {
	secs := max(1, int64(math.Ceil(retryAfter.Seconds())))
	return apperr.RateLimited(time.Duration(secs)*time.Second, "too many requests; retry in %ds", secs)
}
