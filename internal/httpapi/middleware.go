package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/reqctx"
)

// RequestIDHeader carries the correlation id both ways.
const RequestIDHeader = "X-Request-ID"

// A caller's request id is echoed only when it is short and plain, so it
// cannot smuggle anything into logs or headers.
var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// NewRequestID returns a random 128-bit id in hex.
func NewRequestID() string {
	var b [16]byte
	rand.Read(b[:]) //nolint:errcheck // crypto/rand never fails on Linux
	return hex.EncodeToString(b[:])
}

// RequestID echoes a sane X-Request-ID or makes one, sets it on the response
// before anything else can write, and puts it and the client address in the
// context. It trusts no proxy: the client address is the peer's.
func RequestID(next http.Handler) http.Handler { return RequestIDBehind(nil)(next) }

// RequestIDBehind is RequestID for a server behind the reverse proxies in
// trusted, whose X-Forwarded-For it believes (see ClientIP).
func RequestIDBehind(trusted []netip.Prefix) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := r.Header.Get(RequestIDHeader)
			if !validRequestID.MatchString(id) {
				id = NewRequestID()
			}
			w.Header().Set(RequestIDHeader, id)
			ctx := reqctx.WithRequestID(r.Context(), id)
			ctx = reqctx.WithClientIP(ctx, ClientIP(r, trusted))
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// ClientIP is the address of the client that sent r. It is the peer's,
// unless the peer is one of the trusted proxies: then X-Forwarded-For is
// read from the right, skipping the trusted proxies' own entries, and the
// first address that is not a trusted proxy is the client. An entry that is
// not an IP address ends the walk at the last address known good, so a
// client cannot hide behind garbage. X-Forwarded-For from an untrusted peer
// is ignored: anyone can write one.
func ClientIP(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !isTrusted(peer, trusted) {
		return host
	}
	client := peer
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			ip, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return client.String()
			}
			client = ip.Unmap()
			if !isTrusted(client, trusted) {
				return client.String()
			}
		}
	}
	return client.String()
}

func isTrusted(ip netip.Addr, trusted []netip.Prefix) bool {
	ip = ip.Unmap()
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Recover turns a panic into a logged 500 with the envelope.
func Recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				slog.ErrorContext(r.Context(), "panic serving request", "correlation_id", reqctx.RequestID(r.Context()),
					"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				WriteError(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// LimitBody caps every request body at max bytes; Decode reports the excess
// as 413. A declared Content-Length over the limit is refused at once.
func LimitBody(max int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > max {
				WriteError(w, r, apperr.TooLarge(max))
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, max)
			next.ServeHTTP(w, r)
		})
	}
}

// LimitBodyExcept is LimitBody for every request but those exempt says
// are not bound (a streamed file upload, held to its own quota).
func LimitBodyExcept(max int64, exempt func(*http.Request) bool) func(http.Handler) http.Handler {
	limit := LimitBody(max)
	return func(next http.Handler) http.Handler {
		limited := limit(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if exempt(r) {
				next.ServeHTTP(w, r)
				return
			}
			limited.ServeHTTP(w, r)
		})
	}
}

// statusWriter records what a handler wrote, for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

// Flush lets streamed responses (CSV export) reach the client as they go.
func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the real writer (websockets later).
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Metrics are the HTTP server's Prometheus series.
type Metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewMetrics registers the HTTP series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gpuaas_http_requests_total",
			Help: "HTTP requests served, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gpuaas_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

// AppsRoute is the route label of requests to workloads' apps (package
// apps sets it as the request's pattern).
const AppsRoute = "/apps/{allocation_id}/{port_name}/"

// Observe logs each request and records it in m. Routes are labelled by
// their pattern, never the raw path, so ids do not explode the series.
func Observe(m *Metrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		elapsed := time.Since(start)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(route, r.Method, strconv.Itoa(sw.status)).Inc()
		m.latency.WithLabelValues(route, r.Method).Observe(elapsed.Seconds())
		level := slog.LevelInfo
		switch {
		case strings.HasPrefix(route, AppsRoute):
			// A workload's own traffic: a page makes dozens of requests,
			// and a 502 is the tenant's app not answering, not ours.
			level = slog.LevelDebug
			if sw.status >= 500 {
				level = slog.LevelWarn
			}
		case sw.status >= 500:
			level = slog.LevelError
		}
		slog.Log(r.Context(), level, "http request",
			"method", r.Method, "route", route, "status", sw.status, "bytes", sw.bytes,
			"duration_ms", float64(elapsed.Microseconds())/1000,
			"correlation_id", reqctx.RequestID(r.Context()), "client_ip", reqctx.ClientIP(r.Context()))
	})
}
