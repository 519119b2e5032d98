package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
	"github.com/gpuaas/gpuaas/internal/store/dbtest"
)

// txTable makes a scratch table for the transaction tests.
func txTable(t *testing.T) *store.Store {
	t.Helper()
	st := dbtest.New(t)
	if _, err := st.Pool().Exec(context.Background(), `CREATE TABLE tx_probe (k text PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	return st
}

func probeKeys(t *testing.T, st *store.Store) int {
	t.Helper()
	var n int
	if err := st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM tx_probe`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestLaterStatementsKeepTheirOrder: a queued write goes with the next
// statement, which sees it (the transaction reads its own writes), and
// one queued alone goes with the COMMIT.
func TestLaterStatementsKeepTheirOrder(t *testing.T) {
	ctx := context.Background()
	st := txTable(t)
	err := st.InTx(ctx, func(tx *store.Store) error {
		if _, err := store.LaterExec(tx, ctx, `INSERT INTO tx_probe VALUES ('a')`); err != nil {
			return err
		}
		var n int
		if err := tx.Pool().QueryRow(ctx, `SELECT count(*) FROM tx_probe`).Scan(&n); err != nil || n != 0 {
			t.Errorf("another connection saw %d queued rows (%v)", n, err)
		}
		rows, err := txQuery(ctx, tx, `SELECT k FROM tx_probe`)
		if err != nil {
			return err
		}
		if len(rows) != 1 || rows[0] != "a" {
			t.Errorf("the transaction read %v after queuing a write", rows)
		}
		_, err = store.LaterExec(tx, ctx, `INSERT INTO tx_probe VALUES ('b')`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := probeKeys(t, st); n != 2 {
		t.Fatalf("%d rows committed, want 2", n)
	}
}

// TestLaterFailureRollsBack: a queued statement that fails fails the
// statement that carried it with a DeferredError that still says what the
// database said, and nothing of the transaction commits; a failure at the
// COMMIT is reported by InTx.
func TestLaterFailureRollsBack(t *testing.T) {
	ctx := context.Background()
	st := txTable(t)
	err := st.InTx(ctx, func(tx *store.Store) error {
		if _, err := store.LaterExec(tx, ctx, `INSERT INTO tx_probe VALUES ('x'), ('x')`); err != nil {
			t.Errorf("queuing returned %v", err)
		}
		_, err := txQuery(ctx, tx, `SELECT k FROM tx_probe`)
		var de *store.DeferredError
		if !errors.As(err, &de) || !store.IsUniqueViolation(err, "tx_probe_pkey") {
			t.Errorf("the next statement returned %v, want the queued one's unique violation", err)
		}
		if !strings.Contains(fmt.Sprint(err), `"INSERT INTO tx_probe VALUES ('x'), ('x')"`) {
			t.Errorf("the error does not name the queued statement: %v", err)
		}
		return err
	})
	if err == nil {
		t.Fatal("InTx committed")
	}
	err = st.InTx(ctx, func(tx *store.Store) error {
		if _, err := txQuery(ctx, tx, `SELECT k FROM tx_probe`); err != nil {
			return err
		}
		_, err := store.LaterExec(tx, ctx, `INSERT INTO tx_probe VALUES ('y'), ('y')`)
		return err
	})
	if !store.IsUniqueViolation(err, "tx_probe_pkey") {
		t.Fatalf("a failure at commit: %v", err)
	}
	if n := probeKeys(t, st); n != 0 {
		t.Fatalf("%d rows committed", n)
	}
	poolUsable(t, st)
}

// TestInTxRollsBackOnErrorAndPanic: what ran before fn failed or panicked
// is rolled back, and a transaction that never ran a statement is fine.
func TestInTxRollsBackOnErrorAndPanic(t *testing.T) {
	ctx := context.Background()
	st := txTable(t)
	if err := st.InTx(ctx, func(*store.Store) error { return nil }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := st.InTx(ctx, func(tx *store.Store) error {
		if _, err := txQuery(ctx, tx, `INSERT INTO tx_probe VALUES ('e') RETURNING k`); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	func() {
		defer func() { _ = recover() }()
		_ = st.InTx(ctx, func(tx *store.Store) error {
			if _, err := txQuery(ctx, tx, `INSERT INTO tx_probe VALUES ('p') RETURNING k`); err != nil {
				return err
			}
			panic("mid-transaction")
		})
	}()
	if n := probeKeys(t, st); n != 0 {
		t.Fatalf("%d rows committed", n)
	}
}

func txQuery(ctx context.Context, tx *store.Store, sql string) ([]string, error) {
	rows, err := store.TxQuery(tx, ctx, sql)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// TestInTxCancelled: a transaction whose context ends mid-statement rolls
// back, and its connection never goes back to the pool still inside it.
func TestInTxCancelled(t *testing.T) {
	st := txTable(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := st.InTx(ctx, func(tx *store.Store) error {
		if _, err := store.LaterExec(tx, ctx, `INSERT INTO tx_probe VALUES ('c')`); err != nil {
			return err
		}
		_, err := txQuery(ctx, tx, `SELECT pg_sleep(5)::text`)
		return err
	})
	if err == nil {
		t.Fatal("a cancelled transaction committed")
	}
	if n := probeKeys(t, st); n != 0 {
		t.Fatalf("%d rows committed", n)
	}
	for range 8 {
		if err := st.InTx(context.Background(), func(tx *store.Store) error {
			rows, err := txQuery(context.Background(), tx, `SELECT 'x' FROM tx_probe WHERE false`)
			if err == nil && len(rows) != 0 {
				t.Errorf("rows %v", rows)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStatementName: a queued statement's failure names a generated query
// by its sqlc name and a hand-written one by its first line.
func TestStatementName(t *testing.T) {
	for sql, want := range map[string]string{
		"-- name: InsertOutbox :exec\nINSERT INTO outbox …": "InsertOutbox",
		"\n  UPDATE t SET a = 1\n  WHERE b":                 `"UPDATE t SET a = 1"`,
	} {
		if got := store.StatementName(sql); got != want {
			t.Errorf("StatementName(%q) = %s, want %s", sql, got, want)
		}
	}
}

// TestTogetherIsOneRoundTrip: statements run Together go behind a queued
// write in one pipeline, in order (a read sees the insert before it), and
// each function gets its own result.
func TestTogetherIsOneRoundTrip(t *testing.T) {
	ctx := context.Background()
	st := dbtest.New(t)
	var made, found db.User
	var listed []db.User
	var count int64
	err := st.InTx(ctx, func(tx *store.Store) error {
		if _, err := store.LaterExec(tx, ctx, `SELECT 1`); err != nil {
			return err
		}
		err := tx.Together(ctx,
			func(q *db.Queries) (err error) {
				made, err = q.CreateUser(ctx, db.CreateUserParams{Username: "ada", Email: "ada@example.com", Role: "user", PasswordHash: "x"})
				return err
			},
			func(*db.Queries) error { return nil }, // no statement
			func(q *db.Queries) (err error) {
				found, err = q.GetUserByUsername(ctx, "ada")
				return err
			},
			func(q *db.Queries) (err error) {
				listed, err = q.ListUsers(ctx, db.ListUsersParams{PageLimit: 10})
				return err
			},
			func(q *db.Queries) (err error) {
				count, err = q.CountUsers(ctx)
				return err
			},
		)
		if n := store.RoundTrips(tx); n != 1 {
			t.Errorf("Together with BEGIN, a queued statement and four statements took %d round trips, want 1", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if made.ID == uuid.Nil || found.ID != made.ID || count != 1 || len(listed) != 1 || listed[0].ID != made.ID {
		t.Errorf("created %v, then read %v, listed %d and counted %d users", made.ID, found.ID, len(listed), count)
	}

	// Outside a transaction: one implicit transaction, all or nothing.
	other := db.CreateUserParams{Username: "bob", Email: "bob@example.com", Role: "user", PasswordHash: "x"}
	err = st.Together(ctx,
		func(q *db.Queries) error { _, err := q.CreateUser(ctx, other); return err },
		func(q *db.Queries) (err error) {
			listed, err = q.ListUsers(ctx, db.ListUsersParams{PageLimit: 10})
			return err
		},
		func(q *db.Queries) error { _, err := q.CreateUser(ctx, other); return err },
	)
	if !store.IsUniqueViolation(err, "") {
		t.Errorf("a duplicate user outside a transaction: %v", err)
	}
	if n, _ := st.CountUsers(ctx); n != 1 {
		t.Errorf("%d users after a failed implicit transaction, want the 1 from before", n)
	}
}

// TestTogetherFailureStopsTheRest: a statement that fails fails the ones
// after it (the transaction is aborted) and InTx rolls back; the first
// function's error, in order, is the one returned. No function is left
// waiting, and a second statement in one function is refused.
func TestTogetherFailureStopsTheRest(t *testing.T) {
	ctx := context.Background()
	st := dbtest.New(t)
	user := db.CreateUserParams{Username: "ada", Email: "ada@example.com", Role: "user", PasswordHash: "x"}
	var errs [3]error
	err := st.InTx(ctx, func(tx *store.Store) error {
		return tx.Together(ctx,
			func(q *db.Queries) error { _, errs[0] = q.CreateUser(ctx, user); return nil },
			func(q *db.Queries) error { _, errs[1] = q.CreateUser(ctx, user); return errs[1] },
			func(q *db.Queries) error { _, errs[2] = q.CountUsers(ctx); return errs[2] },
		)
	})
	if errs[0] != nil || !store.IsUniqueViolation(errs[1], "") || errs[2] == nil {
		t.Errorf("statement errors %v, want nil, a unique violation, and the aborted transaction's", errs)
	}
	if !store.IsUniqueViolation(err, "") {
		t.Errorf("Together returned %v, want the first failure (a unique violation)", err)
	}
	if n, _ := st.CountUsers(ctx); n != 0 {
		t.Errorf("%d users after the rollback", n)
	}

	err = st.InTx(ctx, func(tx *store.Store) error {
		return tx.Together(ctx, func(q *db.Queries) error {
			if _, err := q.CountUsers(ctx); err != nil {
				return err
			}
			_, err := q.CountUsers(ctx)
			return err
		})
	})
	if err == nil || !strings.Contains(err.Error(), "at most one statement") {
		t.Errorf("two statements in one function: %v", err)
	}
}

// TestAheadReadRidesOnTheNextStatement: a read queued with Ahead goes with
// BEGIN and the next statement in one round trip, and its function sees
// the database as it was before that statement.
func TestAheadReadRidesOnTheNextStatement(t *testing.T) {
	ctx := context.Background()
	st := dbtest.New(t)
	before := countAhead{n: -1}
	var made db.User
	err := st.InTx(ctx, func(tx *store.Store) error {
		if err := before.queue(ctx, tx); err != nil {
			return err
		}
		if n := store.RoundTrips(tx); n != 0 {
			t.Errorf("queuing a read took %d round trips", n)
		}
		var err error
		made, err = tx.CreateUser(ctx, db.CreateUserParams{Username: "ada", Email: "ada@example.com", Role: "user", PasswordHash: "x"})
		if n := store.RoundTrips(tx); n != 1 {
			t.Errorf("BEGIN, the queued read and a statement took %d round trips, want 1", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if before.n != 0 || made.ID == uuid.Nil {
		t.Errorf("the queued read counted %d users before the create (want 0); created %v", before.n, made.ID)
	}
}

// TestAheadReadStopsTheTransaction: a queued read whose function says stop
// fails the statement sent with it, with that very error, and the rest of
// the transaction; nothing commits, whether the read went with a statement,
// with a Together pipeline, or (the transaction sending nothing else) on
// its own before the COMMIT.
func TestAheadReadStopsTheTransaction(t *testing.T) {
	ctx := context.Background()
	st := txTable(t)
	stop := errors.New("answered before")
	ahead := func(tx *store.Store) {
		if err := tx.Ahead(ctx, func(q *db.Queries) error {
			if _, err := q.CountUsers(ctx); err != nil {
				return err
			}
			return stop
		}); err != nil {
			t.Fatalf("queuing: %v", err)
		}
	}
	cases := map[string]func(tx *store.Store) error{
		"statement": func(tx *store.Store) error {
			ahead(tx)
			_, err := txQuery(ctx, tx, `INSERT INTO tx_probe VALUES ('a') RETURNING k`)
			if !errors.Is(err, stop) {
				t.Errorf("the statement sent with the read returned %v", err)
			}
			_, err = txQuery(ctx, tx, `SELECT k FROM tx_probe`)
			if !errors.Is(err, stop) {
				t.Errorf("a statement after it returned %v", err)
			}
			return nil // even a caller that drops the error commits nothing
		},
		"together": func(tx *store.Store) error {
			ahead(tx)
			var errs [2]error
			err := tx.Together(ctx,
				func(q *db.Queries) error { _, errs[0] = q.CountUsers(ctx); return errs[0] },
				func(q *db.Queries) error { _, errs[1] = q.CountUsers(ctx); return errs[1] })
			if !errors.Is(err, stop) || !errors.Is(errs[0], stop) || !errors.Is(errs[1], stop) {
				t.Errorf("Together returned %v, its statements %v", err, errs)
			}
			return nil
		},
		"commit": func(tx *store.Store) error {
			if _, err := store.LaterExec(tx, ctx, `INSERT INTO tx_probe VALUES ('b')`); err != nil {
				return err
			}
			ahead(tx)
			return nil
		},
	}
	for name, fn := range cases {
		err := st.InTx(ctx, fn)
		if !errors.Is(err, stop) {
			t.Errorf("%s: InTx returned %v, want the read's error", name, err)
		}
		if n := probeKeys(t, st); n != 0 {
			t.Fatalf("%s: %d rows committed", name, n)
		}
	}
}

// TestAheadReadDropped: a transaction that rolls back before its queued
// read went out tells the read's function so, leaves no goroutine waiting,
// and the connection goes back to the pool usable. Outside a transaction
// the read runs at once.
func TestAheadReadDropped(t *testing.T) {
	ctx := context.Background()
	st := txTable(t)
	refuse := errors.New("refused before any statement")
	var dropped countAhead
	err := st.InTx(ctx, func(tx *store.Store) error {
		if err := dropped.queue(ctx, tx); err != nil {
			return err
		}
		return refuse
	})
	if !errors.Is(err, refuse) || dropped.err == nil {
		t.Errorf("InTx returned %v; the dropped read was told %v", err, dropped.err)
	}
	now := countAhead{n: -1}
	if err := now.queue(ctx, st); err != nil || now.n != 0 {
		t.Errorf("outside a transaction: %d users, %v", now.n, err)
	}
	poolUsable(t, st)
}

// TestPanickingReads: a queued read that panics when its result comes, in
// the middle of a pipeline, fails the transaction with an error that says
// so; a Together function that panics panics on the caller's goroutine.
// Neither commits anything, nor leaves a connection unusable.
func TestPanickingReads(t *testing.T) {
	ctx := context.Background()
	st := txTable(t)
	err := st.InTx(ctx, func(tx *store.Store) error {
		if err := tx.Ahead(ctx, func(q *db.Queries) error {
			_, _ = q.CountUsers(ctx)
			panic("read went wrong")
		}); err != nil {
			return err
		}
		_, err := txQuery(ctx, tx, `INSERT INTO tx_probe VALUES ('a') RETURNING k`)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "queued read panicked: read went wrong") {
		t.Errorf("a panicking queued read: %v", err)
	}
	func() {
		defer func() {
			if p := recover(); p != "together went wrong" {
				t.Errorf("Together's caller recovered %v", p)
			}
		}()
		_ = st.InTx(ctx, func(tx *store.Store) error {
			if _, err := txQuery(ctx, tx, `INSERT INTO tx_probe VALUES ('b') RETURNING k`); err != nil {
				return err
			}
			return tx.Together(ctx,
				func(q *db.Queries) error { _, err := q.CountUsers(ctx); return err },
				func(q *db.Queries) error { _, _ = q.CountUsers(ctx); panic("together went wrong") })
		})
	}()
	if n := probeKeys(t, st); n != 0 {
		t.Fatalf("%d rows committed", n)
	}
	poolUsable(t, st)
}

// countAhead is a count of users queued with Ahead: what it counted and
// what its read was told.
type countAhead struct {
	n   int64
	err error
}

func (c *countAhead) queue(ctx context.Context, s *store.Store) error {
	return s.Ahead(ctx, func(q *db.Queries) error {
		c.n, c.err = q.CountUsers(ctx)
		return c.err
	})
}

// poolUsable checks that every connection of st's pool still runs a
// transaction, after tests that left some in a failed one.
func poolUsable(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	for range 8 {
		if err := st.InTx(ctx, func(tx *store.Store) error {
			_, err := txQuery(ctx, tx, `SELECT k FROM tx_probe`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
}
