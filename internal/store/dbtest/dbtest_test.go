package dbtest_test

import (
	"context"
	"testing"

	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
	"github.com/gpuaas/gpuaas/internal/store/dbtest"
)

func TestFreshDatabasesAreMigratedAndIsolated(t *testing.T) {
	ctx := context.Background()
	a, b := dbtest.New(t), dbtest.New(t)
	if _, err := a.Pool().Exec(ctx, `INSERT INTO regions (id, name) VALUES ('r-1', 'one')`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := b.Pool().QueryRow(ctx, `SELECT count(*) FROM regions`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("second database sees %d regions from the first", n)
	}
	// Migrating an up-to-date database applies nothing.
	applied, err := store.Migrate(ctx, a.Pool())
	if err != nil || len(applied) != 0 {
		t.Fatalf("re-migrate: applied %v, err %v", applied, err)
	}
}

func TestInTxRollsBackOnError(t *testing.T) {
	ctx := context.Background()
	s := dbtest.New(t)
	err := s.InTx(ctx, func(tx *store.Store) error {
		if err := tx.UpsertRegion(ctx, db.UpsertRegionParams{ID: "r-2", Name: "two"}); err != nil {
			return err
		}
		return context.Canceled
	})
	if err != context.Canceled {
		t.Fatalf("InTx returned %v", err)
	}
	if _, err := s.GetRegion(ctx, "r-2"); !store.IsNoRows(err) {
		t.Fatalf("region survived a rolled-back tx: %v", err)
	}
}
