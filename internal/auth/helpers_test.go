package auth_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/auth"
	"github.com/gpuaas/gpuaas/internal/kv"
	"github.com/gpuaas/gpuaas/internal/password"
	"github.com/gpuaas/gpuaas/internal/ratelimit"
	"github.com/gpuaas/gpuaas/internal/secrets"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
	"github.com/gpuaas/gpuaas/internal/store/dbtest"
)

// clock is a settable time source shared by the service and the in-process
// kv store, so windows and expiries are tested without sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	st     *store.Store
	hot    kv.Store
	reg    *prometheus.Registry
	master []byte
	clock  *clock
	cfg    auth.Config
	svc    *auth.Service
}

const (
	testIssuer   = "https://gpuaas.test"
	testAudience = "gpuaas-test-api"
)

// newEnv builds a Service on a fresh database and an in-process kv store.
// tweak, if given, adjusts the config.
func newEnv(t *testing.T, tweak ...func(*auth.Config)) *env {
	t.Helper()
	c := &clock{t: time.Now().Truncate(time.Second)}
	return newEnvWith(t, c, kv.NewMemory(c.Now), tweak...)
}

func newEnvWith(t *testing.T, c *clock, hot kv.Store, tweak ...func(*auth.Config)) *env {
	t.Helper()
	e := &env{st: dbtest.New(t), hot: hot, reg: prometheus.NewRegistry(), master: randomKey(t), clock: c}
	e.cfg = auth.Config{
		Issuer: testIssuer, Audience: testAudience,
		AccessTTL: 15 * time.Minute, RefreshTTL: 30 * 24 * time.Hour,
		LoginUserFailures: 3, LoginUserWindow: 10 * time.Minute,
		LoginIPAttempts: 50, LoginIPWindow: 10 * time.Minute,
		Now: c.Now,
	}
	for _, f := range tweak {
		f(&e.cfg)
	}
	e.svc = e.replica(t, e.hot, e.master, e.reg)
	return e
}

// replica is another Service on the same database, as a second server
// process would be.
func (e *env) replica(t *testing.T, hot kv.Store, master []byte, reg *prometheus.Registry) *auth.Service {
	t.Helper()
	s := auth.New(e.cfg, e.st, hot, ratelimit.New(hot, reg), master, reg)
	if err := s.EnsureSigningKey(context.Background()); err != nil {
		t.Fatalf("ensure signing key: %v", err)
	}
	return s
}

func randomKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, secrets.KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// redisStore is a real Redis with a per-test key prefix.
func redisStore(t *testing.T) kv.Store {
	t.Helper()
	url := os.Getenv("GPUAAS_TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	r, c, err := kv.OpenRedis(context.Background(), url, "gpuaas-test:"+uuid.NewString()+":")
	if err != nil {
		t.Fatalf("redis at %s: %v (is Redis running?)", url, err)
	}
	t.Cleanup(func() { c.Close() })
	return r
}

// downStore is a real Redis client pointed at a port nobody listens on: an
// outage of the hot-state store.
func downStore(t *testing.T) kv.Store {
	c := redis.NewClient(&redis.Options{
		Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond,
		MaxRetries: -1, DialerRetries: 1, DialerRetryTimeout: time.Millisecond,
	})
	t.Cleanup(func() { c.Close() })
	return kv.NewRedis(c, "down:")
}

const defaultPassword = "a perfectly fine passphrase"

// user creates a user with role "user" (unless given) and defaultPassword
// (unless given).
func (e *env) user(t *testing.T, name string, opts ...string) db.User {
	t.Helper()
	pw, role := defaultPassword, "user"
	if len(opts) > 0 {
		pw = opts[0]
	}
	if len(opts) > 1 {
		role = opts[1]
	}
	h, err := password.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	u, err := e.st.CreateUser(context.Background(), db.CreateUserParams{
		Username: name, Email: name + "@example.test", Role: role, PasswordHash: h,
	})
	if err != nil {
		t.Fatalf("create user %s: %v", name, err)
	}
	return u
}

func (e *env) login(t *testing.T, name string) api.TokenPair {
	t.Helper()
	pair, err := e.svc.Login(context.Background(), name, defaultPassword)
	if err != nil {
		t.Fatalf("login %s: %v", name, err)
	}
	return pair
}

type auditRow struct {
	Action   string
	Actor    uuid.NullUUID
	TargetID string
	Meta     map[string]any
	ClientIP string
}

func (e *env) audits(t *testing.T, action string) []auditRow {
	t.Helper()
	rows, err := e.st.Pool().Query(context.Background(),
		`SELECT action, actor_user_id, target_id, metadata, client_ip FROM audit_logs WHERE action = $1 ORDER BY id`, action)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []auditRow
	for rows.Next() {
		var r auditRow
		var raw []byte
		if err := rows.Scan(&r.Action, &r.Actor, &r.TargetID, &raw, &r.ClientIP); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &r.Meta); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// metric returns the value of counter name with label=value in g.
func metric(t *testing.T, g prometheus.Gatherer, name, label, value string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// wantCode fails unless err is an apperr with code.
func wantCode(t *testing.T, err error, code string) *apperr.Error {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Code != code {
		t.Fatalf("err = %v, want code %s", err, code)
	}
	return e
}

// activeKey reads the newest active signing key from the database and opens
// it with the master key, as an insider holding both would.
func (e *env) activeKey(t *testing.T) (string, ed25519.PrivateKey) {
	t.Helper()
	var kid string
	var enc []byte
	err := e.st.Pool().QueryRow(context.Background(),
		`SELECT kid, private_key_enc FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1`).Scan(&kid, &enc)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := secrets.Open(e.master, enc, []byte(kid))
	if err != nil {
		t.Fatal(err)
	}
	return kid, ed25519.NewKeyFromSeed(seed)
}
