package dbtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gpuaas/gpuaas/internal/store"
)

// DefaultURL is used when GPUAAS_TEST_DATABASE_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// AdminURL is the URL of the server's maintenance database.
func AdminURL() string {
	if u := os.Getenv("GPUAAS_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// URLFor returns AdminURL pointed at database name.
func URLFor(name string) string {
	u, err := url.Parse(AdminURL())
	if err != nil {
		panic(err)
	}
	u.Path = "/" + name
	return u.String()
}

// NewURL clones the template into a fresh database, registers its drop on
// t.Cleanup, and returns its URL.
func NewURL(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	templateOnce.Do(func() { templateName, templateErr = ensureTemplate(ctx) })
	if templateErr != nil {
		t.Fatalf("dbtest: prepare template: %v", templateErr)
	}
	name := "gpuaas_t_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:20]
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		t.Fatalf("dbtest: connect to %s: %v (is PostgreSQL running?)", AdminURL(), err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s`, name, templateName)); err != nil {
		t.Fatalf("dbtest: clone template: %v", err)
	}
	DropOnCleanup(t, name)
	return URLFor(name)
}

// DropOnCleanup drops database name (if it exists) when t ends, on a
// connection of its own: a test's own connections are closed by then.
func DropOnCleanup(t testing.TB, name string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, AdminURL())
		if err != nil {
			t.Logf("dbtest: drop %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name)); err != nil {
			t.Logf("dbtest: drop %s: %v", name, err)
		}
	})
}

// New returns a Store on a fresh database, closed on cleanup.
func New(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), NewURL(t), 0)
	if err != nil {
		t.Fatalf("dbtest: open: %v", err)
	}
	t.Cleanup(st.Close)
	return st
}

// ensureTemplate creates the migrated template once per schema, safely when
// several test binaries race to do it.
func ensureTemplate(ctx context.Context) (string, error) {
	hash, err := store.MigrationsHash()
	if err != nil {
		return "", err
	}
	name := "gpuaas_tpl_" + hash
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		return "", fmt.Errorf("connect to %s: %w (is PostgreSQL running?)", AdminURL(), err)
	}
	defer admin.Close(ctx)
	// Serialise template creation across test processes.
	if _, err := admin.Exec(ctx, `SELECT pg_advisory_lock(7310111)`); err != nil {
		return "", err
	}
	defer admin.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(7310111)`) //nolint:errcheck
	var ready bool
	err = admin.QueryRow(ctx, `SELECT datistemplate FROM pg_database WHERE datname = $1`, name).Scan(&ready)
	if err == nil && ready {
		return name, nil
	}
	if err != nil && err != pgx.ErrNoRows {
		return "", err
	}
	// A half-made template from a crashed run is dropped and redone.
	if _, err := admin.Exec(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name)); err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s`, name)); err != nil {
		return "", err
	}
	pool, err := pgxpool.New(ctx, URLFor(name))
	if err != nil {
		return "", err
	}
	_, err = store.Migrate(ctx, pool)
	pool.Close()
	if err != nil {
		return "", fmt.Errorf("migrate template: %w", err)
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf(`ALTER DATABASE %s WITH is_template true`, name)); err != nil {
		return "", err
	}
	return name, nil
}
