package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// txConn is one transaction on one pooled connection, with fewer round
// trips than pgx.Tx: BEGIN is not sent on its own but in front of the
// transaction's first statement, and statements queued with Later (writes
// whose result nobody reads: audit rows, events) go in front of the next
// statement or the COMMIT. Everything still runs in the order it was
// written, on one connection, in one transaction; a queued statement that
// fails makes the next statement (or the commit) fail with its error.
//
// It is a db.DBTX: Exec, Query and QueryRow send what is queued and their
// own statement as one pipeline.
type txConn struct {
	conn    *pgx.Conn
	pending []queued
	begun   bool // BEGIN has been sent
	failed  error
}

type queued struct {
	sql  string
	args []any
}

// DeferredError is the error of a statement queued with Store.Later,
// reported by the statement or commit that sent it.
type DeferredError struct {
	SQL string
	Err error
}

func (e *DeferredError) Error() string {
	return fmt.Sprintf("queued statement failed: %v", e.Err)
}

func (e *DeferredError) Unwrap() error { return e.Err }

func newTxConn(conn *pgx.Conn) *txConn {
	return &txConn{conn: conn, pending: []queued{{sql: "begin"}}}
}

// send sends the queued statements, plus sql when it is not empty, as one
// pipeline, reads the queued statements' results and returns the batch
// positioned at sql's result. On a queued statement's failure the batch is
// closed and the error returned.
func (t *txConn) send(ctx context.Context, sql string, args []any) (pgx.BatchResults, error) {
	if t.failed != nil {
		return nil, t.failed
	}
	b := &pgx.Batch{}
	for _, q := range t.pending {
		b.Queue(q.sql, q.args...)
	}
	if sql != "" {
		b.Queue(sql, args...)
	}
	sent := t.pending
	t.pending = nil
	br := t.conn.SendBatch(ctx, b)
	for _, q := range sent {
		if q.sql == "begin" {
			t.begun = true
		}
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			if q.sql != "begin" {
				err = &DeferredError{SQL: q.sql, Err: err}
			}
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
	l.pending = append(l.pending, queued{sql: sql, args: args})
	return pgconn.CommandTag{}, nil
}

func (t *txConn) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if len(t.pending) == 0 && t.failed == nil {
		return t.conn.Exec(ctx, sql, args...)
	}
	br, err := t.send(ctx, sql, args)
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
	if len(t.pending) == 0 && t.failed == nil {
		return t.conn.Query(ctx, sql, args...)
	}
	br, err := t.send(ctx, sql, args)
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
	if len(t.pending) == 0 && t.failed == nil {
		return t.conn.QueryRow(ctx, sql, args...)
	}
	br, err := t.send(ctx, sql, args)
	if err != nil {
		return errRow{err}
	}
	return &batchRow{br: br}
}

// commit sends what is queued and COMMIT in one pipeline. A transaction
// that never sent a statement has nothing to commit.
func (t *txConn) commit(ctx context.Context) error {
	if !t.begun && len(t.pending) <= 1 && t.failed == nil {
		t.pending = nil
		return nil
	}
	br, err := t.send(ctx, "commit", nil)
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
	t.pending = nil
	if !t.begun {
		return nil
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
