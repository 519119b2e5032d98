//go:build linux

package soak_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/inventory"
	"github.com/gpuaas/gpuaas/internal/proctest"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/dbtest"
	"github.com/gpuaas/gpuaas/sdk"
)

const (
	natsURL = "nats://127.0.0.1:4222"
	// poolMaxConns is the server's pgx pool size, set in its database URL
	// so that the bound on PostgreSQL connections is a stated number.
	poolMaxConns  = 8
	skuID         = "soak-x1"
	soakUsers     = 6
	nodes         = 4
	gpusPerNode   = 8
	userPassword  = "soak user password, long enough"
	adminPassword = "soak admin password, long enough"
	creditMinor   = 100_000_000
	// accessTTL is the server's access-token lifetime, the shortest it
	// allows. The server caches each verified token until it expires, so
	// that cache fills for one lifetime and then holds steady; at the
	// default 15 minutes a soak shorter than that could not tell it from
	// a leak.
	accessTTL = time.Minute
)

// controlPlane is a running `gpuaas server` with its catalog, an admin and
// users with credit.
type controlPlane struct {
	server *proctest.Proc
	addr   string // host:port on loopback
	base   string // http://addr
	dbName string
	admin  *sdk.Client
	users  []*user
}

// startControlPlane builds the binary, makes a fresh database (dropped on
// cleanup) with a catalog of one-GPU SKUs on nodes nodes, starts the server
// with the sim runtime on a NATS namespace of its own (its stream deleted on
// cleanup), and signs in an admin and soakUsers users with credit.
func startControlPlane(ctx context.Context, t *testing.T) *controlPlane {
	t.Helper()
	dir := t.TempDir()
	bin := proctest.BuildGPUaaS(t, dir)

	dbURL := dbtest.NewURL(t)
	seedCatalog(ctx, t, dbURL)
	namespace := "soak" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	t.Cleanup(func() { proctest.DeleteStream(t, natsURL, namespace) })
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "master.key")
	if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := proctest.FreeAddr(t)
	cp := &controlPlane{addr: addr, base: "http://" + addr, dbName: dbNameOf(t, dbURL)}
	cp.server = proctest.Spawn(t, "server", bin, nil, &proctest.Output{Max: 256 << 10}, "server", "--listen", addr,
		"--database-url", fmt.Sprintf("%s&pool_max_conns=%d", dbURL, poolMaxConns),
		"--nats-url", natsURL, "--nats-namespace", namespace, "--secret-key-file", keyFile,
		"--data-dir", filepath.Join(dir, "server-data"), "--runtime", "sim", "--sim-delay", "100ms",
		"--access-token-ttl", accessTTL.String(),
		"--log-format", "text", "--log-level", "warn")
	anon := sdk.New(cp.base)
	proctest.Eventually(t, 90*time.Second, "server ready", func() (bool, error) {
		_, err := anon.Readyz(ctx)
		return err == nil, err
	}, cp.server)

	if err := runCreateAdmin(bin, dbURL); err != nil {
		t.Fatal(err)
	}
	pair, err := anon.Login(ctx, "soak-admin", adminPassword)
	if err != nil {
		t.Fatalf("admin login: %v", err)
	}
	// The admin's session outlives its access tokens.
	cp.admin = sdk.New(cp.base, sdk.WithTokenSource(sdk.NewRefreshingTokenSource(anon, sdk.NewTokens(pair, time.Now()), nil)))
	for i := range soakUsers {
		name := fmt.Sprintf("soak-user-%d", i)
		u, err := cp.admin.AdminCreateUser(ctx, api.CreateUserRequest{Username: name, Email: name + "@example.com",
			Password: userPassword, Role: api.RoleUser})
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		if _, err := cp.admin.AdminAdjustBalance(ctx, u.Id, api.AdjustBalanceRequest{AmountMinor: creditMinor, Reason: "soak credit"},
			uuid.NewString()); err != nil {
			t.Fatalf("credit %s: %v", name, err)
		}
		su, err := newUser(ctx, cp.base, name)
		if err != nil {
			t.Fatalf("login %s: %v", name, err)
		}
		cp.users = append(cp.users, su)
	}
	return cp
}

// runCreateAdmin makes the admin the operator's way, with the binary.
func runCreateAdmin(bin, dbURL string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "create-admin", "--username", "soak-admin", "--email", "soak-admin@example.com",
		"--password-stdin", "--database-url", dbURL)
	cmd.Env = proctest.BaseEnv()
	cmd.Stdin = strings.NewReader(adminPassword + "\n")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("create-admin: %v\n%s", err, out)
	}
	return nil
}

// seedCatalog puts a region, a one-GPU SKU and nodes nodes of gpusPerNode
// GPUs each (online, without an agent, as the dev seed makes them) in the
// database at dbURL. There is no admin API for regions and SKUs.
func seedCatalog(ctx context.Context, t *testing.T, dbURL string) {
	t.Helper()
	st, err := store.Open(ctx, dbURL, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	inv := inventory.New(st)
	if err := inv.SeedRegion(ctx, inventory.Region{ID: "r1", Name: "R1"}); err != nil {
		t.Fatal(err)
	}
	if err := inv.SeedSKU(ctx, api.SKU{Id: skuID, Name: "Soak H100", GpuModel: "NVIDIA H100", GpuCount: 1,
		GpuMemoryMib: 81559, PricePerHourMinor: 299, Currency: "USD", Region: "r1", Active: true}); err != nil {
		t.Fatal(err)
	}
	for n := range nodes {
		gpus := make([]inventory.GPUSpec, gpusPerNode)
		for i := range gpus {
			gpus[i] = inventory.GPUSpec{Index: i, UUID: "GPU-" + uuid.NewString(), Model: "NVIDIA H100", MemoryMiB: 81559}
		}
		if _, err := inv.SeedNode(ctx, fmt.Sprintf("soak-node-%d", n), "r1", gpus); err != nil {
			t.Fatal(err)
		}
	}
}

func dbNameOf(t *testing.T, dbURL string) string {
	t.Helper()
	i := strings.LastIndex(dbURL, "/")
	name, _, _ := strings.Cut(dbURL[i+1:], "?")
	if name == "" {
		t.Fatalf("no database name in %s", dbURL)
	}
	return name
}
