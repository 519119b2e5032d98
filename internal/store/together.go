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
// given (a generated method that Execs, or QueryRows and Scans), and sends
// those statements, behind what Later queued, as one pipeline: one round
// trip for all of them instead of one each. The statements run in the
// order of fns, on the transaction's connection, each with its own
// snapshot as any statement, so one sees what those before it did: a
// read placed after a lock sees everything committed before the lock was
// granted.
//
// Each fn runs in its own goroutine until its statement's result is in,
// so it must only set its own variables. The first error of a fn, in
// order, is returned; a failing statement aborts the transaction, so the
// ones after it fail too. A fn may return without a statement. Outside a
// transaction fns run one after another.
func (s *Store) Together(ctx context.Context, fns ...func(q *db.Queries) error) error {
	if s.tx == nil {
		for _, fn := range fns {
			if err := fn(s.Queries); err != nil {
				return err
			}
		}
		return nil
	}
	return s.tx.together(ctx, fns)
}

// errTwoStatements is a Together fn's second statement.
var errTwoStatements = errors.New("store: a Together function sends at most one statement (Exec, or QueryRow and Scan)")

// slot is one fn's statement in a Together pipeline. Its goroutine fills
// in the statement (and, for a row, where to scan it) and closes ready;
// the sender reads the result into it and closes done. A fn that returns
// without a statement closes ready too, leaving sql empty.
type slot struct {
	sql   string
	args  []any
	row   bool  // QueryRow: scan into dest
	dest  []any // nil: a row nobody scans
	tag   pgconn.CommandTag
	err   error
	ready chan struct{}
	once  sync.Once
	done  chan struct{}
}

func (s *slot) given() { s.once.Do(func() { close(s.ready) }) }

// gather is a slot as a db.DBTX.
type gather struct{ *slot }

func (g gather) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if g.sql != "" {
		return pgconn.CommandTag{}, errTwoStatements
	}
	g.sql, g.args = sql, args
	g.given()
	<-g.done
	return g.tag, g.err
}

func (g gather) QueryRow(_ context.Context, sql string, args ...any) pgx.Row {
	if g.sql != "" {
		return errRow{errTwoStatements}
	}
	g.sql, g.args, g.row = sql, args, true
	return gatherRow(g)
}

func (g gather) Query(context.Context, string, ...any) (pgx.Rows, error) {
	return nil, errors.New("store: Together takes Exec and QueryRow statements, not Query")
}

type gatherRow gather

func (r gatherRow) Scan(dest ...any) error {
	r.dest = dest
	r.given()
	<-r.done
	return r.err
}

// together is Store.Together inside the transaction.
func (t *txConn) together(ctx context.Context, fns []func(q *db.Queries) error) error {
	slots := make([]*slot, len(fns))
	errs := make([]error, len(fns))
	var panicked any
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, fn := range fns {
		sl := &slot{ready: make(chan struct{}), done: make(chan struct{})}
		slots[i] = sl
		wg.Go(func() {
			defer sl.given()
			defer func() {
				if p := recover(); p != nil {
					mu.Lock()
					panicked = p
					mu.Unlock()
				}
			}()
			errs[i] = fn(db.New(gather{sl}))
		})
	}
	var sent []*slot
	for _, sl := range slots {
		<-sl.ready
		if sl.sql != "" {
			sent = append(sent, sl)
		}
	}
	t.pipeline(ctx, sent)
	wg.Wait()
	if panicked != nil {
		panic(panicked) // on the caller's goroutine, where InTx rolls back
	}
	return firstError(errs)
}

// pipeline sends sent's statements with what is queued, one round trip,
// and hands each slot its result.
func (t *txConn) pipeline(ctx context.Context, sent []*slot) {
	finish := func(from int, err error) {
		for _, sl := range sent[from:] {
			sl.err = err
			close(sl.done)
		}
	}
	if len(sent) == 0 {
		return
	}
	first := sent[0]
	br, err := t.send(ctx, first.sql, first.args, sent[1:]...)
	if err != nil {
		finish(0, err)
		return
	}
	// pgx answers every result after a failed one (or a lost connection)
	// with an error, so each slot is read and none waits for ever.
	for _, sl := range sent {
		if sl.row && sl.dest != nil {
			sl.err = br.QueryRow().Scan(sl.dest...)
		} else {
			sl.tag, sl.err = br.Exec()
		}
		close(sl.done)
	}
	_ = br.Close() // any error is a slot's already
}

func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
