// Package appbench holds `make bench-apps`: HTTP requests and a large
// download through the app proxy (/apps/… → the control plane → the
// agent's connection → a real in-process agent → the app), next to the
// same app server reached directly, in the same run. It runs only with
// GPUAAS_BENCH_APPS=1.
package appbench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agent"
	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/allocation"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/gpu"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/internal/store"
)

var ctx = context.Background()

func envInt(k string, d int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil && v > 0 {
		return v
	}
	return d
}

func envDur(k string, d time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(k)); err == nil && v > 0 {
		return v
	}
	return d
}

// onNode is the node's side: the app is this process's HTTP server on
// the loopback, which the agent dials as it would a container's port.
type onNode struct{ addr string }

func (onNode) Provision(context.Context, agentproto.Task) error { return nil }
func (onNode) Release(context.Context, agentproto.Task) error   { return nil }
func (a onNode) DialApp(ctx context.Context, _ uuid.UUID, _ int) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", a.addr)
}

// app answers a small page at / and BYTES of zeros at /big.
func app() http.Handler {
	page := []byte(`{"status":"ok","model":"bench","tokens":[1,2,3,4,5,6,7,8]}`)
	chunk := make([]byte, 1<<20)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(page)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		for n > 0 {
			k := min(n, int64(len(chunk)))
			if _, err := w.Write(chunk[:k]); err != nil {
				return
			}
			n -= k
		}
	})
	return mux
}

type figures struct {
	rps      float64
	p50, p99 time.Duration
}

// load runs c clients for d against url and measures every request.
func load(t *testing.T, client *http.Client, url, bearer string, c int, d time.Duration) figures {
	var mu sync.Mutex
	var lat []time.Duration
	var failed int
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for i := 0; i < c; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(stop) {
				req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
				if bearer != "" {
					req.Header.Set("Authorization", "Bearer "+bearer)
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					mu.Lock()
					failed++
					mu.Unlock()
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if failed > 0 {
		t.Errorf("%s: %d requests failed", url, failed)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) == 0 {
		t.Fatalf("%s: no request succeeded", url)
	}
	return figures{rps: float64(len(lat)) / d.Seconds(), p50: lat[len(lat)/2], p99: lat[len(lat)*99/100]}
}

// download reads n bytes from url and answers MB/s.
func download(t *testing.T, client *http.Client, url, bearer string, n int64) float64 {
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s?n=%d", url, n), nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.Copy(io.Discard, resp.Body)
	if err != nil || got != n {
		t.Fatalf("download %s: %d of %d bytes, %v", url, got, n, err)
	}
	return float64(n) / 1e6 / time.Since(t0).Seconds()
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func TestBenchApps(t *testing.T) {
	if os.Getenv("GPUAAS_BENCH_APPS") != "1" {
		t.Skip("set GPUAAS_BENCH_APPS=1 (make bench-apps)")
	}
	clients, dur, rounds := envInt("C", 50), envDur("DUR", 5*time.Second), envInt("ROUNDS", 3)
	bytesN := int64(envInt("BYTES", 1<<30))

	srv := httptest.NewServer(app())
	defer srv.Close()
	env := servertest.Start(t, func(c *config.Server) { c.Runtime = "agent"; c.HeartbeatInterval = time.Second })
	node, jt := env.H200Node(t, "bench-host")
	xml, err := os.ReadFile("../../gpu/testdata/h200-busy.xml")
	if err != nil {
		t.Fatal(err)
	}
	disc := gpu.NvidiaSMI{Path: "nvidia-smi", KernelLog: os.DevNull,
		Run: func(context.Context, string, ...string) ([]byte, error) { return xml, nil }}
	actx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = agent.Run(actx, agent.Config{Server: env.URL, JoinToken: jt, DataDir: t.TempDir(), Runtime: "sim,docker",
			Runtimes: []string{agentproto.RuntimeProcess, agentproto.RuntimeDocker}, Version: "bench", Discoverer: disc,
			NodeRuntime: agent.MultiRuntime{Process: agent.SimRuntime{}, Docker: onNode{addr: srv.Listener.Addr().String()}},
			MaxBackoff:  200 * time.Millisecond})
	}()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		n, err := env.App.Inventory.GetNode(ctx, node.Id)
		if err == nil && n.Status == api.NodeStatusOnline {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the bench node did not come online")
		}
		time.Sleep(100 * time.Millisecond)
	}
	env.Fund(t, 1_000_000)
	u := env.NewUser("user")
	owner, pair := env.Login(u)
	var a api.Allocation
	err = env.App.Store.InTx(ctx, func(tx *store.Store) error {
		var err error
		a, err = env.App.Allocations.CreateIn(ctx, tx, u.Id, allocation.CreateRequest{SKUID: "h200-x1",
			Container: &allocation.Spec{Launchable: "container", Image: "bench/app:1", Ports: []agentproto.ContainerPort{{Name: "web", Port: 80}}}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for a.Status != api.AllocationStatusActive {
		time.Sleep(100 * time.Millisecond)
		if a, err = owner.GetAllocation(ctx, a.Id); err != nil {
			t.Fatal(err)
		}
	}
	proxied := env.URL + "/apps/" + a.Id.String() + "/web"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients * 2, DisableCompression: true}}

	if os.Getenv("ONLY") == "proxy" { // for a profile of the proxy's path alone
		p := load(t, client, proxied+"/", pair.AccessToken, clients, dur)
		fmt.Printf("proxy %.0f req/s p50 %s p99 %s\n", p.rps, p.p50, p.p99)
		return
	}
	var direct, proxy []figures
	var ratioP99, ratioRPS []float64
	for r := 0; r < rounds; r++ {
		d := load(t, client, srv.URL+"/", "", clients, dur)
		p := load(t, client, proxied+"/", pair.AccessToken, clients, dur)
		direct, proxy = append(direct, d), append(proxy, p)
		ratioP99 = append(ratioP99, float64(p.p99)/float64(d.p99))
		ratioRPS = append(ratioRPS, p.rps/d.rps)
		fmt.Printf("round %d: direct %.0f req/s p50 %s p99 %s | proxy %.0f req/s p50 %s p99 %s | p99 ratio %.2f\n",
			r+1, d.rps, d.p50, d.p99, p.rps, p.p50, p.p99, ratioP99[r])
	}
	pick := func(fs []figures, f func(figures) float64) float64 {
		var xs []float64
		for _, x := range fs {
			xs = append(xs, f(x))
		}
		return median(xs)
	}
	rps := func(f figures) float64 { return f.rps }
	p50 := func(f figures) float64 { return float64(f.p50) / 1e6 }
	p99 := func(f figures) float64 { return float64(f.p99) / 1e6 }
	fmt.Printf("\nrequests, %d clients, %s x %d rounds (medians):\n", clients, dur, rounds)
	fmt.Printf("  direct  %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms\n", pick(direct, rps), pick(direct, p50), pick(direct, p99))
	fmt.Printf("  proxy   %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms\n", pick(proxy, rps), pick(proxy, p50), pick(proxy, p99))
	fmt.Printf("  ratio proxy/direct: p99 %.2fx (target <= 2), req/s %.2fx\n", median(ratioP99), median(ratioRPS))

	var dMB, pMB []float64
	for r := 0; r < rounds; r++ {
		dMB = append(dMB, download(t, client, srv.URL+"/big", "", bytesN))
		pMB = append(pMB, download(t, client, proxied+"/big", pair.AccessToken, bytesN))
	}
	fmt.Printf("\ndownload of %d MiB x %d (medians): direct %.0f MB/s, proxy %.0f MB/s, ratio %.2fx\n",
		bytesN>>20, rounds, median(dMB), median(pMB), median(pMB)/median(dMB))
}
