package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gpuaas/gpuaas/internal/store/dbtest"
)

// TestParentsAreNeverDeleted: SKUs, users and nodes are referenced without
// foreign keys (allocations, idempotency keys), which is safe only because
// none of them is ever deleted: the database refuses a DELETE or TRUNCATE
// of any of them.
func TestParentsAreNeverDeleted(t *testing.T) {
	ctx := context.Background()
	st := dbtest.New(t)
	setup := []string{
		`INSERT INTO regions (id, name) VALUES ('r1', 'R1')`,
		`INSERT INTO skus (id, name, gpu_model, gpu_count, gpu_memory_mib, vcpu, memory_mib, disk_gib, price_per_hour_minor, currency, region)
		 VALUES ('x1', 'X1', 'H100', 1, 81559, 8, 65536, 100, 3600, 'USD', 'r1')`,
		`INSERT INTO users (username, email, role, password_hash) VALUES ('ada', 'ada@example.com', 'user', 'x')`,
		`INSERT INTO nodes (hostname, region) VALUES ('n1', 'r1')`,
	}
	for _, sql := range setup {
		if _, err := st.Pool().Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	for _, table := range []string{"skus", "users", "nodes"} {
		for _, sql := range []string{"DELETE FROM " + table, "TRUNCATE " + table + " CASCADE"} {
			_, err := st.Pool().Exec(ctx, sql)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "23001" {
				t.Errorf("%s: %v, want restrict_violation (23001)", sql, err)
			}
		}
	}
	var n int
	if err := st.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM skus) + (SELECT count(*) FROM users) + (SELECT count(*) FROM nodes)`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("%d rows left (%v), want all 3", n, err)
	}
}
