package servertest

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/contract"
	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/inventory"
	"github.com/gpuaas/gpuaas/internal/ledger"
	"github.com/gpuaas/gpuaas/internal/secrets"
	"github.com/gpuaas/gpuaas/internal/server"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/dbtest"
	"github.com/gpuaas/gpuaas/internal/users"
	"github.com/gpuaas/gpuaas/sdk"
)

// Env is one running control plane.
type Env struct {
	URL    string
	App    *server.App
	Config config.Server
	// DatabaseURL is the test's own database.
	DatabaseURL string
	t           testing.TB
	seq         atomic.Int64
	stop        func()
	// fund is credited to every user NewUser makes.
	fund atomic.Int64
}

var quietLogs sync.Once

// Start runs a control plane until the test ends. mutate may change the
// configuration before it is validated.
func Start(t testing.TB, mutate ...func(*config.Server)) *Env {
	t.Helper()
	// The access log of every test request drowns the failures; keep warnings.
	quietLogs.Do(func() {
		slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	})
	cfg := config.DefaultServer()
	cfg.Listen = "127.0.0.1:0"
	cfg.DatabaseURL = dbtest.NewURL(t)
	cfg.DataDir = t.TempDir()
	cfg.SecretKeyFile = filepath.Join(cfg.DataDir, "master.key")
	cfg.LogLevel = "warn"
	// The machine's NATS, with a namespace of this test's own; its stream
	// is deleted when the test ends.
	cfg.NATSURL = "nats://127.0.0.1:4222"
	cfg.NATSNamespace = "t" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	cfg.SimDelay = 0
	// Most tests have no agents: allocations run in the in-process sim.
	// Tests of the agent path set Runtime "agent".
	cfg.Runtime = "sim"
	if _, err := secrets.GenerateKeyFile(cfg.SecretKeyFile); err != nil {
		t.Fatal(err)
	}
	for _, m := range mutate {
		m(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("servertest config: %v", err)
	}
	env := &Env{Config: cfg, DatabaseURL: cfg.DatabaseURL, t: t}
	env.launch()
	t.Cleanup(func() {
		env.halt()
		// The test's own stream goes with it.
		dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer dcancel()
		if nc, err := nats.Connect(cfg.NATSURL); err == nil {
			if js, err := jetstream.New(nc); err == nil {
				_ = js.DeleteStream(dctx, events.Naming{Namespace: cfg.NATSNamespace}.Stream())
			}
			nc.Close()
		}
	})
	return env
}

// launch starts a server process-in-a-goroutine on e.Config.
func (e *Env) launch() {
	e.t.Helper()
	ln, err := net.Listen("tcp", e.Config.Listen)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, e.Config, server.Options{
			Listener:    ln,
			BeforeServe: func(_ context.Context, app *server.App) error { e.App = app; return nil },
			Ready:       func(url string) { ready <- url },
		})
	}()
	select {
	case e.URL = <-ready:
	case err := <-done:
		cancel()
		e.t.Fatalf("server did not start: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		e.t.Fatal("server did not start within 30s")
	}
	e.stop = func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				e.t.Errorf("server stopped with: %v", err)
			}
		case <-time.After(15 * time.Second):
			e.t.Error("server did not stop within 15s")
		}
	}
}

// StartReplica runs a second control-plane process on base's database,
// NATS namespace and master key, as another replica of the same
// deployment; mutate may change its settings (roles, for one).
func StartReplica(t testing.TB, base *Env, mutate ...func(*config.Server)) *Env {
	t.Helper()
	cfg := base.Config
	cfg.Listen = "127.0.0.1:0"
	for _, m := range mutate {
		m(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("servertest replica config: %v", err)
	}
	env := &Env{Config: cfg, DatabaseURL: cfg.DatabaseURL, t: t}
	env.launch()
	t.Cleanup(env.halt)
	return env
}

// Stop stops the server as SIGTERM would (its context ends) and waits
// for Run to return, which is after it has closed its pool. A stopped Env
// is not started again unless the test calls Restart.
func (e *Env) Stop() {
	e.t.Helper()
	e.halt()
}

// halt stops the running server, if any.
func (e *Env) halt() {
	if e.stop != nil {
		e.stop()
		e.stop = nil
	}
}

// Restart stops the server (its relay, consumers and workers with it) and
// starts a new one on the same database and stream, as after a crash or a
// deploy. The URL changes; make new clients.
func (e *Env) Restart() {
	e.t.Helper()
	e.halt()
	e.launch()
}

// HTTPClient checks every response against the contract.
func (e *Env) HTTPClient() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &contract.Transport{T: e.t}}
}

// Client is an SDK client with the given access token ("" for none).
func (e *Env) Client(accessToken string) *sdk.Client {
	opts := []sdk.Option{sdk.WithHTTPClient(e.HTTPClient())}
	if accessToken != "" {
		opts = append(opts, sdk.WithAccessToken(accessToken))
	}
	return sdk.New(e.URL, opts...)
}

// Password is what NewUser gives every user.
const Password = "correct horse battery staple"

// NewUser creates a user with role "user" or "admin" directly through the
// domain (no HTTP), with Password.
func (e *Env) NewUser(role string) api.User {
	e.t.Helper()
	n := e.seq.Add(1)
	name := role + "-" + strings.ReplaceAll(uuid.NewString()[:8], "-", "") + "-" + strconv.FormatInt(n, 10)
	u, err := e.App.Users.Create(context.Background(), uuid.Nil, users.CreateParams{
		Username: name, Email: name + "@example.com", Password: Password, Role: role,
	})
	if err != nil {
		e.t.Fatalf("create %s: %v", role, err)
	}
	if amount := e.fund.Load(); amount != 0 {
		e.Credit(u.Id, amount)
	}
	return u
}

// Fund makes every user created from now on start with amount minor units
// (USD) of credit.
func (e *Env) Fund(t testing.TB, amount int64) { e.fund.Store(amount) }

// Credit posts an adjustment of amount USD minor units to user.
func (e *Env) Credit(user uuid.UUID, amount int64) {
	e.t.Helper()
	err := e.App.Store.InTx(context.Background(), func(tx *store.Store) error {
		_, err := ledger.Post(context.Background(), tx, ledger.Posting{
			Key: "test-credit:" + uuid.NewString(), Kind: ledger.KindAdjustment, UserID: user,
			Memo: "test credit", Currency: "USD", Amount: amount,
		})
		return err
	})
	if err != nil {
		e.t.Fatalf("credit %s: %v", user, err)
	}
}

// Login signs u in over HTTP and returns its client and tokens.
func (e *Env) Login(u api.User) (*sdk.Client, api.TokenPair) {
	e.t.Helper()
	pair, err := e.Client("").Login(context.Background(), u.Username, Password)
	if err != nil {
		e.t.Fatalf("login %s: %v", u.Username, err)
	}
	return e.Client(pair.AccessToken), pair
}

// As creates a user of role and returns it signed in.
func (e *Env) As(role string) (*sdk.Client, api.User) {
	e.t.Helper()
	u := e.NewUser(role)
	c, _ := e.Login(u)
	return c, u
}

// H200SKU is the catalog entry H200Node seeds: one NVIDIA H200 at USD 3.49
// an hour, in region r1.
var H200SKU = api.SKU{Id: "h200-x1", Name: "H200", GpuModel: "NVIDIA H200", GpuCount: 1,
	GpuMemoryMib: 143771, PricePerHourMinor: 349, Currency: "USD", Region: "r1", Active: true}

// H200Node seeds region r1 and H200SKU, creates the node hostname there
// through the admin API, and returns it with a join token for its agent.
func (e *Env) H200Node(t testing.TB, hostname string) (api.Node, string) {
	t.Helper()
	ctx := context.Background()
	if err := e.App.Inventory.SeedRegion(ctx, inventory.Region{ID: "r1", Name: "R1"}); err != nil {
		t.Fatal(err)
	}
	if err := e.App.Inventory.SeedSKU(ctx, H200SKU); err != nil {
		t.Fatal(err)
	}
	admin, _ := e.As("admin")
	node, err := admin.AdminCreateNode(ctx, api.CreateNodeRequest{Hostname: hostname, Region: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	jt, err := admin.AdminIssueJoinToken(ctx, node.Id)
	if err != nil {
		t.Fatal(err)
	}
	return node, jt.Token
}
