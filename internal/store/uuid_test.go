package store_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/gpuaas/gpuaas/internal/store/dbtest"
)

// TestUUIDCodec: uuid.UUID and uuid.NullUUID go to and from PostgreSQL
// unchanged in both wire formats, alone and (described) in arrays, and NULL scans as
// an invalid NullUUID (and refuses a plain UUID).
func TestUUIDCodec(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t).Pool()
	id, other := uuid.New(), uuid.New()
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeSimpleProtocol} {
		var got uuid.UUID
		var text string
		if err := pool.QueryRow(ctx, `SELECT $1::uuid, $1::uuid::text`, mode, id).Scan(&got, &text); err != nil {
			t.Fatalf("mode %v: %v", mode, err)
		}
		if got != id || text != id.String() {
			t.Fatalf("mode %v: got %s (%s), want %s", mode, got, text, id)
		}
		var null, valid uuid.NullUUID
		if err := pool.QueryRow(ctx, `SELECT $1::uuid, $2::uuid`, mode, uuid.NullUUID{}, uuid.NullUUID{UUID: id, Valid: true}).Scan(&null, &valid); err != nil {
			t.Fatalf("mode %v: %v", mode, err)
		}
		if null.Valid || !valid.Valid || valid.UUID != id {
			t.Fatalf("mode %v: null %+v valid %+v", mode, null, valid)
		}
		if err := pool.QueryRow(ctx, `SELECT NULL::uuid`, mode).Scan(&got); err == nil {
			t.Fatalf("mode %v: NULL scanned into uuid.UUID", mode)
		}
		if mode == pgx.QueryExecModeSimpleProtocol {
			continue // pgx cannot type a slice parameter without a statement description
		}
		var ids []uuid.UUID
		if err := pool.QueryRow(ctx, `SELECT $1::uuid[]`, mode, []uuid.UUID{id, other}).Scan(&ids); err != nil {
			t.Fatalf("mode %v: %v", mode, err)
		}
		if len(ids) != 2 || ids[0] != id || ids[1] != other {
			t.Fatalf("mode %v: array %v", mode, ids)
		}
	}
}
