package store

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// LaterExec queues sql as Store.Later's queries do, for tests of
// statements the generated queries do not have.
func LaterExec(s *Store, ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return later{s.tx}.Exec(ctx, sql, args...)
}

// TxQuery runs sql in s's transaction as the generated queries do.
func TxQuery(s *Store, ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return s.tx.Query(ctx, sql, args...)
}

// StatementName is statementName, for its test.
var StatementName = statementName

// RoundTrips is how many round trips s's transaction has made.
func RoundTrips(s *Store) int { return s.tx.trips }
