package server_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
)

// Benchmarks for `make bench`, which runs them next to pgbench on the same
// Postgres and prints the ratios. Each reports req/s and latency quantiles
// measured by parallel clients over real loopback HTTP.

func benchEnv(b *testing.B) (*servertest.Env, string) {
	env := servertest.Start(b, func(c *config.Server) {
		c.APIRate, c.APIBurst = 1e9, 1<<30 // measure the stack, not the limiter's refusals
		c.LogLevel = "error"
		// As in production: buckets and the deny-list in Redis.
		c.RedisURL = "redis://127.0.0.1:6379/0"
		// make bench runs the creates a second time in the api role
		// alone, to show what the lifecycle beside them costs.
		if r := os.Getenv("GPUAAS_BENCH_ROLES"); r != "" {
			c.Roles = r
		}
	})
	seedInventory(b, env)
	u := env.NewUser("user")
	_, pair := env.Login(u)
	return env, pair.AccessToken
}

// runLoad issues b.N GETs of url from 4×GOMAXPROCS goroutines and reports
// throughput and latency.
func runLoad(b *testing.B, url, token string) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(4)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		local := make([]time.Duration, 0, 1024)
		for pb.Next() {
			req, _ := http.NewRequest("GET", url, nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			t0 := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = drain(resp)
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
			local = append(local, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, local...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) == 0 {
		return
	}
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
	b.ReportMetric(q(0.50), "p50_ms")
	b.ReportMetric(q(0.99), "p99_ms")
}

func BenchmarkAPIListSKUs(b *testing.B) {
	env, token := benchEnv(b)
	runLoad(b, env.URL+"/api/v1/skus", token)
}

func BenchmarkAPIMe(b *testing.B) {
	env, token := benchEnv(b)
	runLoad(b, env.URL+"/api/v1/users/me", token)
}

// BenchmarkAPIMeWithAPIToken is BenchmarkAPIMe with an API token, which
// is looked up in Postgres on every request instead of verified from its
// signature: the price of seeing a revocation on every replica at once.
func BenchmarkAPIMeWithAPIToken(b *testing.B) {
	env, token := benchEnv(b)
	tok, err := env.Client(token).CreateAPIToken(ctx, api.CreateAPITokenRequest{
		Name: "bench", ExpiresAt: time.Now().Add(time.Hour), Scopes: []api.APITokenScope{api.APITokenScopeRead},
	})
	if err != nil {
		b.Fatal(err)
	}
	runLoad(b, env.URL+"/api/v1/users/me", tok.Token)
}

// BenchmarkHTTPBaseline is the floor: a bare net/http handler answering a
// fixed JSON body over the same loopback client.
func BenchmarkHTTPBaseline(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ok"}` + "\n"))
	}))
	defer srv.Close()
	runLoad(b, srv.URL, "")
}

func drain(resp *http.Response) (int64, error) {
	defer resp.Body.Close()
	return io.Copy(io.Discard, resp.Body)
}

// benchFleet adds nodes with n free GPUs of model h100 in region test-1,
// in one statement, for benchmarks that need thousands.
func benchFleet(b *testing.B, env *servertest.Env, gpus int) {
	exec(b, env, `WITH n AS (
		INSERT INTO nodes (hostname, region, status) SELECT 'bench-' || i, 'test-1', 'online'
		FROM generate_series(1, ($1::int + 7) / 8) i RETURNING id, hostname)
	INSERT INTO gpus (node_id, idx, uuid, model, memory_mib)
	SELECT n.id, j, 'GPU-' || n.hostname || '-' || j, $2, 81559 FROM n, generate_series(0, 7) j`, gpus, h100)
}

// benchUsers makes k funded users and returns their access tokens.
func benchUsers(b *testing.B, env *servertest.Env, k int) []string {
	env.Fund(b, 1<<40)
	tokens := make([]string, k)
	for i := range tokens {
		_, pair := env.Login(env.NewUser("user"))
		tokens[i] = pair.AccessToken
	}
	return tokens
}

// BenchmarkAllocationCreates measures POST /api/v1/allocations through the
// whole stack (auth, placement with row locks, balance lock, audit row,
// outbox event, idempotency key) from 8 users in parallel. The provisioner
// runs beside it with a 0 s sim delay, as in production.
func BenchmarkAllocationCreates(b *testing.B) {
	env, _ := benchEnv(b)
	benchFleet(b, env, b.N+16)
	tokens := benchUsers(b, env, 8)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var next atomic.Int64
	var lat []time.Duration
	var mu sync.Mutex
	// Counts that do not depend on the machine's speed, beside the timings:
	// Redis round trips, placement tries that found a node short, and NATS
	// messages.
	redisTrips := &tripCounter{}
	env.App.Redis.AddHook(redisTrips)
	misses0 := counter(b, env, "gpuaas_allocation_placement_misses_total")
	b.SetParallelism(4)
	b.ResetTimer()
	redisTrips.n.Store(0)
	nats0 := env.App.NATS.Stats()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var local []time.Duration
		for pb.Next() {
			i := next.Add(1)
			req, _ := http.NewRequest("POST", env.URL+"/api/v1/allocations", strings.NewReader(`{"sku_id":"h100-x1"}`))
			req.Header.Set("Authorization", "Bearer "+tokens[i%int64(len(tokens))])
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", fmt.Sprintf("bench-%d", i))
			t0 := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			drain(resp)
			if resp.StatusCode != 202 {
				b.Errorf("create: %d", resp.StatusCode)
				return
			}
			local = append(local, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, local...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	reportLatency(b, lat, elapsed, "creates/s")
	b.ReportMetric(float64(redisTrips.n.Load())/float64(b.N), "redis_trips/create")
	b.ReportMetric((counter(b, env, "gpuaas_allocation_placement_misses_total")-misses0)/float64(b.N), "placement_misses/create")
	// NATS: what the server sent and got (publishes, acks, pull requests,
	// deliveries), however far the lifecycle caught up.
	nats1 := env.App.NATS.Stats()
	b.ReportMetric(float64(nats1.OutMsgs-nats0.OutMsgs+nats1.InMsgs-nats0.InMsgs)/float64(b.N), "nats_msgs/create")
}

// counter is the value of an unlabelled counter on the app's registry.
func counter(b *testing.B, env *servertest.Env, name string) float64 {
	b.Helper()
	mfs, err := env.App.Registry.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	b.Fatalf("no metric %s", name)
	return 0
}

// BenchmarkRequestedToActive paces creates at GPUAAS_BENCH_RATE per second
// (make bench passes half the measured maximum) and reports how long
// allocations took from requested to active, and the outbox's
// commit→publish lag, both from the database's own timestamps.
func BenchmarkRequestedToActive(b *testing.B) {
	rate, _ := strconv.ParseFloat(os.Getenv("GPUAAS_BENCH_RATE"), 64)
	if rate <= 0 {
		rate = 50
	}
	env, _ := benchEnv(b)
	benchFleet(b, env, b.N+16)
	tokens := benchUsers(b, env, 8)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	interval := time.Duration(float64(time.Second) / rate)
	b.ResetTimer()
	nats0 := env.App.NATS.Stats()
	var wg sync.WaitGroup
	tick := time.NewTicker(interval)
	for i := 0; i < b.N; i++ {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", env.URL+"/api/v1/allocations", strings.NewReader(`{"sku_id":"h100-x1"}`))
			req.Header.Set("Authorization", "Bearer "+tokens[i%len(tokens)])
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			drain(resp)
		}()
	}
	tick.Stop()
	wg.Wait()
	// Wait (bounded) for the provisioner to catch up.
	deadline := time.Now().Add(60 * time.Second)
	for {
		var pending int
		exec(b, env, `SELECT 1`)
		if err := env.App.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM allocations WHERE status <> 'active'`).Scan(&pending); err != nil {
			b.Fatal(err)
		}
		if pending == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.StopTimer()
	// NATS messages the server sent and got for each allocation's whole
	// way to active (events, deliveries, acks, pulls, live notifications).
	nats1 := env.App.NATS.Stats()
	b.ReportMetric(float64(nats1.OutMsgs-nats0.OutMsgs+nats1.InMsgs-nats0.InMsgs)/float64(b.N), "nats_msgs/alloc")
	var p50, p99, lag50, lag99 float64
	if err := env.App.Store.Pool().QueryRow(ctx, `
		SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM active_at - created_at)) * 1000,
		       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM active_at - created_at)) * 1000
		FROM allocations WHERE active_at IS NOT NULL`).Scan(&p50, &p99); err != nil {
		b.Fatal(err)
	}
	if err := env.App.Store.Pool().QueryRow(ctx, `
		SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM published_at - created_at)) * 1000,
		       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM published_at - created_at)) * 1000
		FROM outbox WHERE published_at IS NOT NULL`).Scan(&lag50, &lag99); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(rate, "offered/s")
	b.ReportMetric(p50, "active_p50_ms")
	b.ReportMetric(p99, "active_p99_ms")
	b.ReportMetric(lag50, "lag_p50_ms")
	b.ReportMetric(lag99, "lag_p99_ms")
}

func reportLatency(b *testing.B, lat []time.Duration, elapsed time.Duration, unit string) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) == 0 {
		return
	}
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), unit)
	b.ReportMetric(q(0.50), "p50_ms")
	b.ReportMetric(q(0.99), "p99_ms")
}
