package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

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
