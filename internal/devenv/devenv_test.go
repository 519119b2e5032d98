package devenv_test

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/gpuaas/gpuaas/internal/devenv"
	"github.com/gpuaas/gpuaas/internal/inventory"
	"github.com/gpuaas/gpuaas/internal/server"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/dbtest"
	"github.com/gpuaas/gpuaas/internal/users"
)

func noEnv(string) string { return "" }

func TestDevPassword(t *testing.T) {
	dir := t.TempDir()
	p1, src, err := devenv.DevPassword(dir, noEnv)
	if err != nil || src != devenv.FromGenerated || len(p1) < 20 {
		t.Fatalf("first start: %q %s %v", p1, src, err)
	}
	fi, err := os.Stat(filepath.Join(dir, devenv.PasswordFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("password file: %v %v", fi, err)
	}
	p2, src, err := devenv.DevPassword(dir, noEnv)
	if err != nil || src != devenv.FromFile || p2 != p1 {
		t.Fatalf("restart must reuse the password: %q %s %v", p2, src, err)
	}
	env := func(k string) string {
		if k == devenv.PasswordEnv {
			return "from the environment"
		}
		return ""
	}
	p3, src, err := devenv.DevPassword(dir, env)
	if err != nil || src != devenv.FromEnv || p3 != "from the environment" {
		t.Fatalf("env: %q %s %v", p3, src, err)
	}
	if p4, _, _ := devenv.DevPassword(dir, noEnv); p4 != p1 {
		t.Fatalf("the env must not overwrite the kept password")
	}
	// An emptied file is replaced, not used as an empty password.
	os.WriteFile(filepath.Join(dir, devenv.PasswordFile), []byte("\n"), 0o600)
	if p5, src, _ := devenv.DevPassword(dir, noEnv); p5 == "" || src != devenv.FromGenerated {
		t.Fatalf("empty file: %q %s", p5, src)
	}
}

func TestSimGPUUUID(t *testing.T) {
	re := regexp.MustCompile(`^GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for _, n := range devenv.SimNodes() {
		for _, g := range n.GPUSpecs() {
			if !re.MatchString(g.UUID) {
				t.Errorf("%s/%d: %q is not in nvidia-smi's form", n.Hostname, g.Index, g.UUID)
			}
			if seen[g.UUID] {
				t.Errorf("duplicate uuid %s", g.UUID)
			}
			seen[g.UUID] = true
			if devenv.SimGPUUUID(n.Hostname, g.Index) != g.UUID {
				t.Errorf("uuid of %s/%d is not stable", n.Hostname, g.Index)
			}
		}
	}
}

func TestFleetCoversEverySKU(t *testing.T) {
	for _, s := range devenv.SKUs() {
		fits := 0
		for _, n := range devenv.SimNodes() {
			if n.Model == s.GpuModel {
				fits += n.GPUs / s.GpuCount
				if n.MemoryMiB != s.GpuMemoryMib {
					t.Errorf("%s: GPU memory %d MiB, node %s has %d", s.Id, s.GpuMemoryMib, n.Hostname, n.MemoryMiB)
				}
			}
		}
		if fits < 1 {
			t.Errorf("SKU %s (%d × %s) fits on no simulated node", s.Id, s.GpuCount, s.GpuModel)
		}
		if s.Region != devenv.Region.ID || !s.Active || s.Currency != "USD" || s.PricePerHourMinor <= 0 {
			t.Errorf("SKU %s: %+v", s.Id, s)
		}
	}
}

// TestSeedIsIdempotent seeds a fresh real database twice, as two starts
// of `gpuaas dev` would.
func TestSeedIsIdempotent(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, dbtest.NewURL(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	app := &server.App{Store: st, Users: users.New(st), Inventory: inventory.New(st)}

	r, err := devenv.Seed(ctx, app, "first dev password")
	if err != nil {
		t.Fatal(err)
	}
	if r.NodesCreated != len(devenv.SimNodes()) || r.AccountsCreated != 2 {
		t.Fatalf("first seed: %+v", r)
	}
	r, err = devenv.Seed(ctx, app, "second dev password")
	if err != nil {
		t.Fatal(err)
	}
	if r != (devenv.SeedReport{}) {
		t.Fatalf("second seed created again: %+v", r)
	}

	skus, _, err := app.Inventory.ListSKUs(ctx, "", 200)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"h100-80gb-x1": 16, "h100-80gb-x8": 2, "h200-141gb-x1": 4, "a100-80gb-x1": 4}
	if len(skus) != len(want) {
		t.Fatalf("got %d SKUs, want %d", len(skus), len(want))
	}
	for _, s := range skus {
		if s.Available != want[s.Id] {
			t.Errorf("%s: available %d, want %d", s.Id, s.Available, want[s.Id])
		}
	}

	// The second start's password is the one that works now.
	var n int
	if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM users WHERE username IN ('admin','demo')`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("accounts: %d %v", n, err)
	}
}

func TestEnsureDatabase(t *testing.T) {
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, dbtest.AdminURL())
	if err != nil {
		t.Fatalf("connect to %s: %v", dbtest.AdminURL(), err)
	}
	defer admin.Close(ctx)
	name := "gpuaas_devenv_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), dbtest.AdminURL())
		if err != nil {
			t.Logf("drop %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name); err != nil {
			t.Logf("drop %s: %v", name, err)
		}
	})
	url := dbtest.URLFor(name)

	// Several dev processes starting at once: exactly one creates it.
	var wg sync.WaitGroup
	created := make(chan bool, 4)
	for range 4 {
		wg.Go(func() {
			c, err := devenv.EnsureDatabase(ctx, url)
			if err != nil {
				t.Errorf("EnsureDatabase: %v", err)
			}
			created <- c
		})
	}
	wg.Wait()
	close(created)
	n := 0
	for c := range created {
		if c {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d callers created the database, want 1", n)
	}
	if c, err := devenv.EnsureDatabase(ctx, url); c || err != nil {
		t.Fatalf("existing database: created=%v err=%v", c, err)
	}
}

func TestEmbeddedNATS(t *testing.T) {
	dir := t.TempDir()
	for start := range 2 { // the second start reuses the JetStream store
		n, err := devenv.StartNATS(dir, slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})))
		if err != nil {
			t.Fatalf("start %d: %v", start, err)
		}
		u := n.ClientURL()
		if !strings.HasPrefix(u, "nats://127.0.0.1:") || strings.HasSuffix(u, ":4222") {
			t.Fatalf("client url %q: want a free loopback port", u)
		}
		conn, err := net.DialTimeout("tcp", strings.TrimPrefix(u, "nats://"), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		line, err := bufio.NewReader(conn).ReadString('\n')
		conn.Close()
		if err != nil || !strings.HasPrefix(line, "INFO ") || !strings.Contains(line, `"jetstream":true`) {
			t.Fatalf("INFO line %q, %v", line, err)
		}
		n.Shutdown()
	}
	if _, err := os.Stat(filepath.Join(dir, "nats", "jetstream")); err != nil {
		t.Fatalf("JetStream store not under the data dir: %v", err)
	}
}

func TestDevStoresUnderItsDataDir(t *testing.T) {
	cfg := devenv.Defaults()
	cfg.DataDir = "/tmp/gpuaas-dev-x"
	devenv.Complete(&cfg)
	if cfg.StorageFSRoot != "/tmp/gpuaas-dev-x/storage" {
		t.Fatalf("dev storage root %q", cfg.StorageFSRoot)
	}
	cfg = devenv.Defaults()
	cfg.StorageConfig = "/etc/gpuaas/storage.yaml"
	devenv.Complete(&cfg)
	if cfg.StorageFSRoot != "" {
		t.Fatalf("dev set a storage root beside --storage-config: %q", cfg.StorageFSRoot)
	}
}
