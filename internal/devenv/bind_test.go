package devenv_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/gpuaas/gpuaas/internal/devenv"
	"github.com/gpuaas/gpuaas/internal/store/dbtest"
)

// TestBindDatabaseFollowsTheMasterKey: dev's database keeps its data under
// the key that sealed it, starts afresh (instead of failing to open its
// signing key) when another checkout's key meets it, and refuses a
// database that is not dev's own.
func TestBindDatabaseFollowsTheMasterKey(t *testing.T) {
	ctx := context.Background()
	name := "gpuaas_devbind_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
	url := dbtest.URLFor(name)
	admin, err := pgx.Connect(ctx, dbtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	dbtest.DropOnCleanup(t, name) // not on admin: it is closed when the test returns
	if _, err := devenv.EnsureDatabase(ctx, url); err != nil {
		t.Fatal(err)
	}
	exec := func(q string) {
		t.Helper()
		c, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	marked := func() bool {
		c, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		var ok bool
		if err := c.QueryRow(ctx, `SELECT to_regclass('marker') IS NOT NULL`).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	dir := t.TempDir()
	keyA, keyB := filepath.Join(dir, "a.key"), filepath.Join(dir, "b.key")
	for f, k := range map[string]string{keyA: "key A", keyB: "key B"} {
		if err := os.WriteFile(f, []byte(k), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	exec(`CREATE TABLE marker ()`)
	// A database from before dev named its key, with the key it had: kept.
	if err := devenv.BindDatabase(ctx, url, keyA, false, log); err != nil || !marked() {
		t.Fatalf("first bind: %v, data kept %v", err, marked())
	}
	if err := devenv.BindDatabase(ctx, url, keyA, false, log); err != nil || !marked() {
		t.Fatalf("same key again: %v, data kept %v", err, marked())
	}
	// Another checkout's new key: the database starts afresh.
	if err := devenv.BindDatabase(ctx, url, keyB, true, log); err != nil || marked() {
		t.Fatalf("another key: %v, data kept %v (want a fresh database)", err, marked())
	}
	exec(`CREATE TABLE marker ()`)
	if err := devenv.BindDatabase(ctx, url, keyB, false, log); err != nil || !marked() {
		t.Fatalf("its key again: %v, data kept %v", err, marked())
	}
	// Not dev's own: refused, untouched.
	if _, err := admin.Exec(ctx, "COMMENT ON DATABASE "+name+" IS 'production'"); err != nil {
		t.Fatal(err)
	}
	if err := devenv.BindDatabase(ctx, url, keyA, true, log); err == nil || !marked() {
		t.Fatalf("a database not dev's own: %v, data kept %v", err, marked())
	}
}
