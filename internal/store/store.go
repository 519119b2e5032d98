package store

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Store runs queries against the pool, or against one transaction inside InTx.
type Store struct {
	*db.Queries
	pool *pgxpool.Pool
	tx   *txConn

	hook   *commitHook // shared by a store and its transactions
	events *bool       // inside InTx: whether the transaction wrote events
}

// commitHook is what runs after events commit; see OnEventsCommitted.
type commitHook struct {
	mu sync.RWMutex
	fn func()
}

func (h *commitHook) run() {
	h.mu.RLock()
	fn := h.fn
	h.mu.RUnlock()
	if fn != nil {
		fn()
	}
}

// OnEventsCommitted sets fn to run after each commit that wrote outbox
// rows (see EventsWritten): the process's relay publishes them at once
// instead of at its next poll. fn must not block.
func (s *Store) OnEventsCommitted(fn func()) {
	s.hook.mu.Lock()
	s.hook.fn = fn
	s.hook.mu.Unlock()
}

// EventsWritten notes that the caller wrote outbox rows: inside InTx the
// events-committed hook runs once the transaction commits, outside it at
// once (the statement has committed already).
func (s *Store) EventsWritten() {
	if s.events != nil {
		*s.events = true
		return
	}
	s.hook.run()
}

// Open connects to databaseURL and checks the connection. maxConns caps
// the pool; 0 keeps pgxpool's default (pool_max_conns in the URL, else the
// larger of 4 and the CPU count). Every request and worker step holds at
// most one connection at a time (InTx reuses its transaction), so a full
// pool only makes callers wait, it cannot deadlock.
func Open(ctx context.Context, databaseURL string, maxConns int) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = int32(maxConns)
	}
	cfg.AfterConnect = func(_ context.Context, conn *pgx.Conn) error {
		registerUUID(conn)
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return New(pool), nil
}

// New wraps an existing pool.
func New(pool *pgxpool.Pool) *Store {
	return &Store{Queries: db.New(pool), pool: pool, hook: &commitHook{}}
}

// Pool is the underlying pool, for health checks and hand-written queries.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close closes the pool.
func (s *Store) Close() { s.pool.Close() }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// InTx runs fn in one transaction and commits when fn returns nil. Nested
// calls reuse the outer transaction. BEGIN travels with the first
// statement, and statements queued with Later with the next one or the
// COMMIT (see txConn), so a transaction costs no round trips of its own.
func (s *Store) InTx(ctx context.Context, fn func(tx *Store) error) error {
	if s.tx != nil {
		return fn(s)
	}
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// Release destroys a connection still inside a transaction (a rollback
	// that failed) instead of reusing it.
	defer c.Release()
	t := &txConn{conn: c.Conn()}
	done := false
	defer func() {
		if !done { // fn panicked
			_ = t.rollback(context.WithoutCancel(ctx))
		}
	}()
	var wrote bool
	err = fn(&Store{Queries: db.New(t), pool: s.pool, tx: t, hook: s.hook, events: &wrote})
	done = true
	if err == nil {
		err = t.commit(ctx)
	}
	if err != nil {
		_ = t.rollback(context.WithoutCancel(ctx))
		return err
	}
	if wrote {
		s.hook.run()
	}
	return nil
}

// Later is q for statements whose result nobody reads (audit rows,
// events): inside InTx their Exec is queued and sent with the
// transaction's next statement or its COMMIT, one round trip fewer each; a
// failure fails that statement or the commit with a *DeferredError.
// Outside a transaction it is the store's own queries.
func (s *Store) Later() *db.Queries {
	if s.tx == nil {
		return s.Queries
	}
	return db.New(later{s.tx})
}

// Ahead queues fn's one statement, a read, to go in front of the
// transaction's next statement, as Later does a write, so it costs no
// round trip of its own; fn runs as a Together function does and sees the
// result when that statement goes. An error from fn stops the transaction
// there: the statement sent with the read, and everything after, fails
// with fn's error as it is, and nothing commits. So a check whose answer
// is almost always "go on" (has this request been answered before?) rides
// on the work it guards, and the rare "stop" still comes before any of
// that work is looked at. A transaction that ends without sending anything
// after it sends the read on its own before COMMIT; one that rolls back
// first never sends it, and fn is told so with an error.
//
// Outside a transaction fn runs now.
func (s *Store) Ahead(ctx context.Context, fn func(q *db.Queries) error) error {
	if s.tx == nil {
		return fn(s.Queries)
	}
	sl := newSlot()
	out := start(sl, fn)
	<-sl.ready
	if sl.sql == "" { // fn returned without a statement
		return (<-out).asError()
	}
	s.tx.pending = append(s.tx.pending, statement{sql: sl.sql, args: sl.args, ahead: &aheadRead{slot: sl, out: out}})
	return nil
}

// IsNoRows reports whether err means the query matched no row.
func IsNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// IsUniqueViolation reports whether err is a unique-constraint violation,
// optionally of the named constraint or index.
func IsUniqueViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		return false
	}
	return constraint == "" || pgErr.ConstraintName == constraint
}

// IsForeignKeyViolation reports whether err is a foreign-key violation.
func IsForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23503"
}
