package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// txConn is one transaction on one pooled connection, with fewer round
// trips than pgx.Tx: BEGIN is not sent on its own but in front of the
// transaction's first statement, and statements queued with Later (writes
// whose result nobody reads: audit rows, events) go in front of the next
// statement or the COMMIT. A read queued with Ahead goes the same way,
// and its function, given the result, can stop the transaction there.
// Everything still runs in the order it was written, on one connection, in
// one transaction; a queued statement that fails makes the next statement
// (or the commit) fail with its error.
//
// Whether BEGIN has gone out is the connection's own transaction status,
// not a flag kept beside it.
//
// It is a db.DBTX: Exec, Query and QueryRow send what is queued and their
// own statement as one pipeline.
type txConn struct {
	conn    *pgx.Conn
	pending []statement // Later and Ahead statements not sent yet
	failed  error       // a queued statement failed: the transaction is lost
	trips   int         // round trips so far, for tests
}

// statement is one SQL statement with its arguments.
type statement struct {
	sql  string
	args []any
	// ahead is set on a read queued with Store.Ahead.
	ahead *aheadRead
}

// aheadRead is a queued read: its result goes to slot, and its function's
// outcome, once it has looked at the result, comes back on out.
type aheadRead struct {
	slot *slot
	out  <-chan outcome
}

// asError is o as the error of a queued read: a read that panicked, in
// the middle of a pipeline, fails the transaction instead of the process.
func (o outcome) asError() error {
	if o.panicked != nil {
		return fmt.Errorf("store: queued read panicked: %v", o.panicked)
	}
	return o.err
}

// errDropped is what a queued read's function is told when its statement
// is never sent: the transaction ended (or failed) first.
var errDropped = errors.New("store: the transaction ended before a queued read was sent")

// drop tells the functions of stmts' queued reads that they will never get
// a result, and waits for them to return.
func drop(stmts []statement) {
	for _, st := range stmts {
		if st.ahead != nil {
			st.ahead.slot.err = errDropped
			close(st.ahead.slot.done)
			<-st.ahead.out
		}
	}
}

// hasAhead reports whether a queued read waits to be sent.
func (t *txConn) hasAhead() bool {
	for _, st := range t.pending {
		if st.ahead != nil {
			return true
		}
	}
	return false
}

// batch is stmts as a pgx pipeline.
func batch(stmts []statement) *pgx.Batch {
	b := &pgx.Batch{}
	for _, st := range stmts {
		b.Queue(st.sql, st.args...)
	}
	return b
}

// DeferredError is the error of a statement queued with Store.Later,
// reported by the statement or commit that sent it.
type DeferredError struct {
	SQL string
	Err error
}

func (e *DeferredError) Error() string {
	return fmt.Sprintf("queued statement %s failed: %v", statementName(e.SQL), e.Err)
}

func (e *DeferredError) Unwrap() error { return e.Err }

// statementName is a generated query's name (its "-- name:" line), or the
// start of a hand-written one.
func statementName(sql string) string {
	if rest, ok := strings.CutPrefix(sql, "-- name: "); ok {
		name, _, _ := strings.Cut(rest, " ")
		return name
	}
	first, _, _ := strings.Cut(strings.TrimSpace(sql), "\n")
	if len(first) > 60 {
		first = first[:60] + "…"
	}
	return fmt.Sprintf("%q", first)
}

// begun reports whether BEGIN has been sent: the transaction is open (or
// failed) on the server.
func (t *txConn) begun() bool { return t.conn.PgConn().TxStatus() != 'I' }

// direct reports whether a statement can go on its own: the transaction
// is open, healthy and has nothing queued.
func (t *txConn) direct() bool { return t.failed == nil && len(t.pending) == 0 && t.begun() }

// send sends BEGIN (the first time), the queued statements and stmts as
// one pipeline, reads the results before stmts' and returns the batch
// positioned at the first of them. When BEGIN or a queued statement fails
// the batch is closed and the transaction marked failed.
func (t *txConn) send(ctx context.Context, stmts ...statement) (pgx.BatchResults, error) {
	if t.failed != nil {
		return nil, t.failed
	}
	begin := !t.begun()
	var head []statement
	if begin {
		head = append(head, statement{sql: "begin"})
	}
	head = append(head, t.pending...)
	t.pending = nil
	t.trips++
	br := t.conn.SendBatch(ctx, batch(append(head, stmts...)))
	for i, st := range head {
		var err error
		if st.ahead != nil {
			deliver(br, st.ahead.slot)
			err = (<-st.ahead.out).asError() // the read's own verdict, as it is
		} else if _, err = br.Exec(); err != nil && (!begin || i > 0) {
			err = &DeferredError{SQL: st.sql, Err: err} // a queued statement's, not BEGIN's
		}
		if err != nil {
			_ = br.Close()
			drop(head[i+1:])
			t.failed = err
			return nil, err
		}
	}
	return br, nil
}

// later is the transaction as a db.DBTX whose Exec queues its statement
// to go with the next one sent (see Store.Later).
type later struct{ *txConn }

func (l later) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	l.pending = append(l.pending, statement{sql: sql, args: args})
	return pgconn.CommandTag{}, nil
}

func (t *txConn) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if t.direct() {
		t.trips++
		return t.conn.Exec(ctx, sql, args...)
	}
	br, err := t.send(ctx, statement{sql: sql, args: args})
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

func (t *txConn) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if t.direct() {
		t.trips++
		return t.conn.Query(ctx, sql, args...)
	}
	br, err := t.send(ctx, statement{sql: sql, args: args})
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

func (t *txConn) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if t.direct() {
		t.trips++
		return t.conn.QueryRow(ctx, sql, args...)
	}
	br, err := t.send(ctx, statement{sql: sql, args: args})
	if err != nil {
		return errRow{err}
	}
	return &batchRow{br: br}
}

// commit sends what is queued and COMMIT in one pipeline. A transaction
// that never sent or queued a statement has nothing to commit.
func (t *txConn) commit(ctx context.Context) error {
	if t.failed == nil && len(t.pending) == 0 && !t.begun() {
		return nil
	}
	if t.hasAhead() {
		// A queued read may stop the transaction, so it must be heard
		// before COMMIT is sent: one round trip of its own, only for a
		// transaction that sent nothing after queueing it.
		br, err := t.send(ctx)
		if err != nil {
			return err
		}
		if err := br.Close(); err != nil {
			return err
		}
	}
	br, err := t.send(ctx, statement{sql: "commit"})
	if err != nil {
		return err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if tag.String() == "ROLLBACK" {
		return pgx.ErrTxCommitRollback
	}
	return nil
}

// rollback ends a transaction that sent anything; queued statements are
// dropped.
func (t *txConn) rollback(ctx context.Context) error {
	drop(t.pending)
	t.pending = nil
	if !t.begun() {
		return nil // never begun, or already ended by a COMMIT that rolled back
	}
	_, err := t.conn.Exec(ctx, "rollback")
	return err
}

// batchRows closes its batch with the rows.
type batchRows struct {
	pgx.Rows
	br     pgx.BatchResults
	closed bool
	err    error
}

func (r *batchRows) Close() {
	r.Rows.Close()
	if !r.closed {
		r.closed = true
		r.err = r.br.Close()
	}
}

func (r *batchRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

// batchRow scans its statement's row and closes the batch.
type batchRow struct{ br pgx.BatchResults }

func (r *batchRow) Scan(dest ...any) error {
	err := r.br.QueryRow().Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
