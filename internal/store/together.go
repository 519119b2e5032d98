package store

import (
	"context"
	"errors"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Together runs fns, each at most one statement through the queries it is
// given (a generated method: Exec, QueryRow and Scan, or Query and its
// rows), and sends those statements, behind what Later queued, as one
// pipeline: one round trip for all of them instead of one each. The
// statements run in the order of fns, on one connection, each with its own
// snapshot as any statement, so one sees what those before it did: a read
// placed after a lock sees everything committed before the lock was
// granted. Outside a transaction they run as one implicit transaction (all
// or nothing), on a connection of their own.
//
// Each fn runs in its own goroutine until its statement's result is in,
// so it must only set its own variables. The first error of a fn, in
// order, is returned; a failing statement aborts the transaction, so the
// ones after it fail too. A fn may return without a statement.
func (s *Store) Together(ctx context.Context, fns ...func(q *db.Queries) error) error {
	if s.tx != nil {
		return together(ctx, s.tx.send, fns)
	}
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	return together(ctx, func(ctx context.Context, stmts ...statement) (pgx.BatchResults, error) {
		return c.Conn().SendBatch(ctx, batch(stmts)), nil
	}, fns)
}

// sender sends stmts as one pipeline and returns the batch positioned at
// the first one's result.
type sender func(ctx context.Context, stmts ...statement) (pgx.BatchResults, error)

// errTwoStatements is a Together fn's second statement.
var errTwoStatements = errors.New("store: a Together function sends at most one statement")

// slotKind is how a slot's statement was sent, so how its result is read.
type slotKind int

const (
	slotExec  slotKind = iota // Exec: a command tag
	slotRow                   // QueryRow: scanned into dest
	slotQuery                 // Query: the rows go to the fn
)

// slot is one fn's statement in a Together pipeline. Its goroutine fills
// in the statement (and, for a row, where to scan it) and closes ready;
// the sender reads the result into it and closes done. A fn that returns
// without a statement closes ready too, leaving sql empty. For a Query the
// sender hands over the rows and waits until the fn has closed them
// (read) before it reads the next result.
type slot struct {
	statement
	kind  slotKind
	dest  []any // a row's; nil when nobody scans it
	rows  pgx.Rows
	tag   pgconn.CommandTag
	err   error
	ready chan struct{}
	once  sync.Once
	done  chan struct{}
	read  chan struct{}
	rOnce sync.Once
}

func (s *slot) given() { s.once.Do(func() { close(s.ready) }) }

// closed notes that a Query's rows are done with (or will never be read).
func (s *slot) closed() { s.rOnce.Do(func() { close(s.read) }) }

// gather is a slot as a db.DBTX.
type gather struct{ *slot }

// take records the slot's statement, or refuses a second one.
func (g gather) take(sql string, args []any, kind slotKind) error {
	if g.sql != "" {
		return errTwoStatements
	}
	g.statement, g.kind = statement{sql: sql, args: args}, kind
	return nil
}

func (g gather) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if err := g.take(sql, args, slotExec); err != nil {
		return pgconn.CommandTag{}, err
	}
	g.given()
	<-g.done
	return g.tag, g.err
}

func (g gather) QueryRow(_ context.Context, sql string, args ...any) pgx.Row {
	if err := g.take(sql, args, slotRow); err != nil {
		return errRow{err}
	}
	return gatherRow(g)
}

func (g gather) Query(_ context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := g.take(sql, args, slotQuery); err != nil {
		return nil, err
	}
	g.given()
	<-g.done
	if g.err != nil {
		return nil, g.err
	}
	return &handedRows{Rows: g.rows, slot: g.slot}, nil
}

// handedRows are a Query's rows, read by its fn; closing them lets the
// sender go on to the next result.
type handedRows struct {
	pgx.Rows
	slot *slot
}

func (r *handedRows) Close() {
	r.Rows.Close()
	r.slot.closed()
}

func (r *handedRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

type gatherRow gather

func (r gatherRow) Scan(dest ...any) error {
	r.dest = dest
	r.given()
	<-r.done
	return r.err
}

// together runs fns' statements through send as one pipeline.
func together(ctx context.Context, send sender, fns []func(q *db.Queries) error) error {
	slots := make([]*slot, len(fns))
	outs := make([]<-chan outcome, len(fns))
	for i, fn := range fns {
		slots[i] = newSlot()
		outs[i] = start(slots[i], fn)
	}
	var sent []*slot
	for _, sl := range slots {
		<-sl.ready
		if sl.sql != "" {
			sent = append(sent, sl)
		}
	}
	pipeline(ctx, send, sent)
	var first error
	var panicked any
	for _, out := range outs {
		o := <-out
		if o.panicked != nil {
			panicked = o.panicked
		}
		if first == nil {
			first = o.err
		}
	}
	if panicked != nil {
		panic(panicked) // on the caller's goroutine, where InTx rolls back
	}
	return first
}

// outcome is how a slot's fn ended: its error, or what it panicked with.
type outcome struct {
	err      error
	panicked any
}

// start runs fn on its own goroutine with sl as its queries, and returns
// where its outcome arrives once it has returned. Its statement, if any,
// is in sl once sl.ready is closed; a fn that panics or leaves a Query's
// rows open still lets the sender go on.
func start(sl *slot, fn func(q *db.Queries) error) <-chan outcome {
	out := make(chan outcome, 1)
	go func() {
		var o outcome
		defer func() {
			if p := recover(); p != nil {
				o.panicked = p
			}
			if sl.rows != nil {
				sl.rows.Close() // a fn that left its rows open
				sl.closed()
			}
			sl.given()
			out <- o
		}()
		o.err = fn(db.New(gather{sl}))
	}()
	return out
}

// pipeline sends sent's statements, one round trip, and hands each slot
// its result.
func pipeline(ctx context.Context, send sender, sent []*slot) {
	if len(sent) == 0 {
		return
	}
	stmts := make([]statement, len(sent))
	for i, sl := range sent {
		stmts[i] = sl.statement
	}
	br, err := send(ctx, stmts...)
	if err != nil {
		for _, sl := range sent {
			sl.err = err
			close(sl.done)
		}
		return
	}
	// pgx answers every result after a failed one (or a lost connection)
	// with an error, so each slot is read and none waits for ever.
	for _, sl := range sent {
		deliver(br, sl)
	}
	_ = br.Close() // any error is a slot's already
}

// deliver reads the batch's next result into sl and hands it to sl's fn;
// for a Query, it returns once the fn has closed the rows.
func deliver(br pgx.BatchResults, sl *slot) {
	switch {
	case sl.kind == slotQuery:
		sl.rows, sl.err = br.Query()
		close(sl.done)
		if sl.err == nil {
			<-sl.read
		}
		return
	case sl.kind == slotRow && sl.dest != nil:
		sl.err = br.QueryRow().Scan(sl.dest...)
	default:
		sl.tag, sl.err = br.Exec()
	}
	close(sl.done)
}

// newSlot is an empty slot.
func newSlot() *slot {
	return &slot{ready: make(chan struct{}), done: make(chan struct{}), read: make(chan struct{})}
}
