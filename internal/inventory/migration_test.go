package inventory_test

import (
	"context"
	"testing"

	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/dbtest"
)

// TestCatalogueMigrationBackfillsPriceHistory runs migration 0040 over a
// database that already holds SKUs: each gets its creation as the first
// price-history entry, with no admin and its creation time.
func TestCatalogueMigrationBackfillsPriceHistory(t *testing.T) {
	ctx := context.Background()
	st := dbtest.New(t)
	pool := st.Pool()
	// Back to the schema before 0040, with data in it.
	for _, sql := range []string{
		`DROP TABLE sku_prices`,
		`DROP INDEX skus_region_idx`,
		`DELETE FROM schema_migrations WHERE version = 40`,
		`INSERT INTO regions (id, name) VALUES ('eu-1', 'Europe 1')`,
		`INSERT INTO skus (id, name, gpu_model, gpu_count, gpu_memory_mib, vcpu, memory_mib, disk_gib,
		     price_per_hour_minor, currency, region, active, created_at)
		 VALUES ('h100-x1', 'H100', 'NVIDIA H100', 1, 1, 1, 1, 1, 249, 'USD', 'eu-1', true, '2026-01-02T03:04:05Z'),
		        ('old-x1', 'Old', 'Tesla', 1, 1, 1, 1, 1, 0, 'EUR', 'eu-1', false, '2025-01-01T00:00:00Z')`,
	} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	done, err := store.Migrate(ctx, pool)
	if err != nil || len(done) != 1 || done[0] != 40 {
		t.Fatalf("migrate: applied %v, %v", done, err)
	}
	rows, err := pool.Query(ctx, `SELECT p.sku_id, p.price_per_hour_minor, p.previous_price_minor IS NULL,
		p.changed_by IS NULL, p.changed_at = s.created_at
		FROM sku_prices p JOIN skus s ON s.id = p.sku_id ORDER BY p.sku_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type row struct {
		id                        string
		price                     int64
		noPrev, noAdmin, sameTime bool
	}
	var got []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.price, &r.noPrev, &r.noAdmin, &r.sameTime); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	want := []row{{"h100-x1", 249, true, true, true}, {"old-x1", 0, true, true, true}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("backfill %+v, want %+v", got, want)
	}
}
