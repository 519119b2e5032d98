package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gpuaas/gpuaas/internal/outbox"
)

// Budgets of the shutdown steps (see Run and docs/operations.md). Each is
// a bound, not a wait: a step that finishes sooner moves on at once.
const (
	shutdownHTTP     = 10 * time.Second // in-flight ordinary requests
	shutdownSessions = 10 * time.Second // websockets end, write their audit rows
	shutdownWorkers  = 15 * time.Second // worker loops and consumers finish the event in hand
	shutdownOutbox   = 10 * time.Second // the relay publishes what is still pending
)

// sessions tracks the long-lived requests (terminal, relay, notification
// websockets) that http.Server.Shutdown neither waits for nor cancels once
// they are hijacked. Each runs on a context that end cancels, and end
// waits for them to return (their audit rows written) before the pool
// closes.
type sessions struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newSessions() *sessions {
	ctx, cancel := context.WithCancel(context.Background())
	return &sessions{ctx: ctx, cancel: cancel}
}

// track serves h on a context that also ends when the server shuts down.
// Add happens before the upgrade, while Shutdown still counts the request
// as active, so end's Wait never races a new Add.
func (s *sessions) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.wg.Add(1)
		defer s.wg.Done()
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		defer context.AfterFunc(s.ctx, cancel)()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// end cancels every tracked request and waits for them, at most timeout.
func (s *sessions) end(timeout time.Duration) {
	s.cancel()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
		slog.Warn("shutdown: websocket sessions still open after the deadline; their audit rows may be lost", "deadline", timeout)
	}
}

// drain stops the process in dependency order, so nothing that still
// writes finds the pool closed: stop accepting and finish ordinary
// requests; end websocket and terminal sessions (each writes its audit
// row); stop the workers and consumers and wait for the work in hand; let
// the relay publish the outbox rows committed meanwhile. The caller closes
// the pool after drain returns.
func (a *App) drain(srv *http.Server, stopWork context.CancelFunc, workers *sync.WaitGroup, relay *outbox.Relay) error {
	hctx, cancel := context.WithTimeout(context.Background(), shutdownHTTP)
	defer cancel()
	var errs []error
	if err := srv.Shutdown(hctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		errs = append(errs, err)
	}
	// Terminals first, so they end as shutting_down and not as a lost
	// agent; then the agents' connections, which carry their streams.
	a.sessions.end(shutdownSessions)
	a.agentSessions.end(shutdownSessions)

	stopWork()
	done := make(chan struct{})
	go func() { workers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(shutdownWorkers):
		slog.Warn("shutdown: workers still running after the deadline", "deadline", shutdownWorkers)
	}

	if relay != nil {
		fctx, cancel := context.WithTimeout(context.Background(), shutdownOutbox)
		defer cancel()
		if n, err := relay.Flush(fctx); err != nil {
			// Not lost: the rows stay in the outbox for the next relay.
			slog.Warn("shutdown: outbox not fully published; the next relay will", "published", n, "err", err)
		}
	}
	return errors.Join(errs...)
}
