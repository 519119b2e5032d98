package server_test

import (
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/ledger"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/internal/store/db"
	"github.com/gpuaas/gpuaas/internal/store/dbtest"
)

// TestBackupAndRestore does what docs/operations.md's "Backups" says: under
// traffic, pg_dump the database (custom format), restore it into a new
// database with pg_restore, and start a server on it with the same master
// key and a fresh NATS namespace (NATS holds nothing that is not rebuilt
// from the database). Users sign in with their passwords, balances, the
// ledger (with its invariants), allocations and the audit log are as they
// were at the dump, and the restored server goes on metering the
// allocation that was running.
func TestBackupAndRestore(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"pg_dump", "pg_restore"} {
		if _, err := osexec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: %v", tool, err)
		}
	}
	env := servertest.Start(t, func(c *config.Server) { c.SimDelay = 50 * time.Millisecond })
	seedInventory(t, env)
	if _, err := env.App.Store.Pool().Exec(ctx, `UPDATE policies SET value = 1 WHERE key = 'billing.meter_interval_seconds'`); err != nil {
		t.Fatal(err)
	}
	env.Fund(t, 100_000)
	c, u := env.As("user")
	running := createAllocWith(t, c)
	waitStatus(t, c, running, api.AllocationStatusActive)
	done := createAllocWith(t, c)
	waitStatus(t, c, done, api.AllocationStatusActive)
	if _, err := c.ReleaseAllocation(ctx, done); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, done, api.AllocationStatusReleased)
	time.Sleep(1500 * time.Millisecond) // let the meter charge the running one

	// Traffic goes on while the dump runs: it sees one consistent snapshot.
	stop := make(chan struct{})
	trafficDone := make(chan struct{})
	go func() {
		defer close(trafficDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, _ = c.Balance(ctx)
			_, _ = c.ListAllocations(ctx, api.ListAllocationsParams{})
			time.Sleep(100 * time.Millisecond) // under the per-user rate limit
		}
	}()
	dump := filepath.Join(t.TempDir(), "gpuaas.dump")
	if out, err := osexec.Command("pg_dump", "--format=custom", "--no-owner", "--file", dump, env.DatabaseURL).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}
	close(stop)
	<-trafficDone
	time.Sleep(time.Second) // the rate limit's bucket refills
	// What the dump holds, read from the same database after it: the
	// figures below only ever grow, so the restored ones must not be more.
	type figures struct {
		users, allocations, audit, entries int64
		balance                            int64
	}
	read := func(url string) figures {
		t.Helper()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var f figures
		err = conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM allocations),
			(SELECT count(*) FROM audit_logs), (SELECT count(*) FROM ledger_entries)`).Scan(&f.users, &f.allocations, &f.audit, &f.entries)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	before := read(env.DatabaseURL)
	balBefore, err := c.Balance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	env.Stop()

	// Restore into a new, empty database.
	name := "gpuaas_restore_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	admin, err := pgx.Connect(ctx, dbtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	dbtest.DropOnCleanup(t, name) // not on admin: it is closed when the test returns
	restored := dbtest.URLFor(name)
	if out, err := osexec.Command("pg_restore", "--no-owner", "--exit-on-error", "--dbname", restored, dump).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, out)
	}
	after := read(restored)
	if after.users != before.users || after.allocations != before.allocations || after.audit > before.audit || after.audit == 0 ||
		after.entries > before.entries || after.entries == 0 {
		t.Fatalf("restored %+v, dumped from %+v", after, before)
	}

	// A server on the restored database: same key, its own NATS namespace.
	b := servertest.StartReplica(t, env, func(cfg *config.Server) {
		cfg.DatabaseURL = restored
		cfg.NATSNamespace = "r" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	})
	rc, _ := b.Login(u) // the password hash came back
	conn, err := pgx.Connect(ctx, restored)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := ledger.Check(ctx, db.New(conn)); err != nil {
		t.Fatal(err)
	}
	bal, err := rc.Balance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if bal.BalanceMinor > balBefore.BalanceMinor || bal.Currency != balBefore.Currency {
		t.Fatalf("restored balance %d %s, %d at the dump", bal.BalanceMinor, bal.Currency, balBefore.BalanceMinor)
	}
	for id, want := range map[uuid.UUID]api.AllocationStatus{running: api.AllocationStatusActive, done: api.AllocationStatusReleased} {
		got, err := rc.GetAllocation(ctx, id)
		if err != nil || got.Status != want {
			t.Fatalf("restored allocation %s: %v %v, want %s", id, got.Status, err, want)
		}
	}
	adminC, _ := b.As("admin")
	logs, err := adminC.AdminListAuditLogs(ctx, api.AdminListAuditLogsParams{})
	if err != nil || logs.Total < after.audit {
		t.Fatalf("audit log after restore: %d rows (%v), %d restored", logs.Total, err, after.audit)
	}
	// Metering resumes: the running allocation is charged again.
	deadline := time.Now().Add(15 * time.Second)
	for {
		now, err := rc.Balance(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if now.BalanceMinor < bal.BalanceMinor {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restored server did not meter: balance %d, %d at start", now.BalanceMinor, bal.BalanceMinor)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := ledger.Check(ctx, db.New(conn)); err != nil {
		t.Fatal(err)
	}
}

// TestRetentionOfPullProgress: the housekeeping query drops the pull
// progress of allocations that ended over a week ago, except the last
// row of each, and nothing else.
func TestRetentionOfPullProgress(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	seedInventory(t, env)
	env.Fund(t, 100_000)
	c, _ := env.As("user")
	id := createAllocWith(t, c)
	waitStatus(t, c, id, api.AllocationStatusActive)
	if _, err := c.ReleaseAllocation(ctx, id); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, id, api.AllocationStatusReleased)
	pool := env.App.Store.Pool()
	if _, err := pool.Exec(ctx, `INSERT INTO allocation_events (allocation_id, kind, message)
		SELECT $1, k, k FROM unnest(ARRAY['pulling','pulling','pulling','pulled','started','removed']) AS k`, id); err != nil {
		t.Fatal(err)
	}
	keep := pgtype.Interval{Microseconds: (7 * 24 * time.Hour).Microseconds(), Valid: true}
	if n, err := env.App.Store.DeleteOldPullProgress(ctx, keep); err != nil || n != 0 {
		t.Fatalf("a recent allocation lost %d rows (%v)", n, err)
	}
	if _, err := pool.Exec(ctx, `UPDATE allocations SET updated_at = now() - interval '8 days' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if n, err := env.App.Store.DeleteOldPullProgress(ctx, keep); err != nil || n != 2 {
		t.Fatalf("deleted %d rows (%v), want the 2 older pulls", n, err)
	}
	var kinds []string
	if err := pool.QueryRow(ctx, `SELECT array_agg(kind ORDER BY id) FROM allocation_events WHERE allocation_id = $1`, id).Scan(&kinds); err != nil {
		t.Fatal(err)
	}
	if strings.Join(kinds, ",") != "pulling,pulled,started,removed" {
		t.Errorf("left %v", kinds)
	}
}
