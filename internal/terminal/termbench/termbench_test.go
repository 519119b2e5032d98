// Package termbench holds `make bench-terminal`: S concurrent terminal
// sessions through the real gateway to a real in-process agent (sim
// runtime), each echoing a steady stream, next to a plain websocket proxy
// with the same hops measured in the same run. It runs only with
// GPUAAS_BENCH_TERMINAL=1.
package termbench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/creack/pty"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agent"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/gpu"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/sdk"
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

// result is one side's figures.
type result struct {
	held  int
	bytes int64
	rtts  []time.Duration
	dur   time.Duration
}

func (r result) pct(p float64) time.Duration {
	if len(r.rtts) == 0 {
		return 0
	}
	i := int(p * float64(len(r.rtts)-1))
	return r.rtts[i]
}

// path is one way to a shell: its sessions, each read for the whole run
// by one goroutine (a cancelled read would close the websocket), and what
// those readers saw during the current round.
type path struct {
	name   string
	conns  []*websocket.Conn
	active atomic.Bool
	broken atomic.Int64 // sessions whose read failed
	bytes  atomic.Int64
	mu     sync.Mutex
	rtts   []time.Duration
}

func newPath(name string, conns []*websocket.Conn) *path {
	p := &path{name: name, conns: conns}
	for _, c := range conns {
		c.SetReadLimit(1 << 24)
		go p.read(c)
	}
	return p
}

// read finds the probes "#<19 digits>" in one session's echoed stream and
// records their round trips while a round is on.
func (p *path) read(c *websocket.Conn) {
	var pend []byte
	for {
		typ, b, err := c.Read(context.Background())
		if err != nil {
			p.broken.Add(1)
			return
		}
		if typ != websocket.MessageBinary || !p.active.Load() {
			continue
		}
		now := time.Now()
		p.bytes.Add(int64(len(b)))
		pend = append(pend, b...)
		var mine []time.Duration
		for {
			i := strings.IndexByte(string(pend), '#')
			if i < 0 {
				pend = pend[:0]
				break
			}
			if len(pend)-i < 20 {
				pend = append(pend[:0], pend[i:]...)
				break
			}
			if ns, err := strconv.ParseInt(string(pend[i+1:i+20]), 10, 64); err == nil {
				mine = append(mine, now.Sub(time.Unix(0, ns)))
			}
			pend = pend[i+20:]
		}
		if len(mine) > 0 {
			p.mu.Lock()
			p.rtts = append(p.rtts, mine...)
			p.mu.Unlock()
		}
	}
}

// round streams rate bytes/s for dur on each session: every 100 ms one
// chunk that opens with a timestamped probe and is padded with 'a'. It
// then gives the echoes a moment to drain and returns what was seen.
func (p *path) round(rate int, dur time.Duration) result {
	const tick = 100 * time.Millisecond
	chunk := max(rate/10, 20)
	p.mu.Lock()
	p.rtts = nil
	p.mu.Unlock()
	p.bytes.Store(0)
	p.active.Store(true)
	start := time.Now()
	end := start.Add(dur)
	var wg sync.WaitGroup
	for _, c := range p.conns {
		wg.Go(func() {
			tk := time.NewTicker(tick)
			defer tk.Stop()
			buf := make([]byte, chunk)
			for i := range buf {
				buf[i] = 'a'
			}
			for now := range tk.C {
				if now.After(end) {
					return
				}
				copy(buf, fmt.Sprintf("#%019d", time.Now().UnixNano()))
				if c.Write(context.Background(), websocket.MessageBinary, buf) != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	time.Sleep(time.Second) // echoes still in flight
	p.active.Store(false)
	p.mu.Lock()
	rtts := p.rtts
	p.rtts = nil
	p.mu.Unlock()
	sort.Slice(rtts, func(i, j int) bool { return rtts[i] < rtts[j] })
	return result{held: len(p.conns) - int(p.broken.Load()), bytes: p.bytes.Load(), rtts: rtts, dur: dur}
}

// echoServer answers each websocket with a plain echo.
func echoServer(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 24)
	for {
		typ, b, err := c.Read(r.Context())
		if err != nil {
			return
		}
		if err := c.Write(r.Context(), typ, b); err != nil {
			return
		}
	}
}

// ptyServer answers each websocket with the same shell the gateway's
// sessions run (`stty raw -echo; exec cat` on a PTY), piping binary
// messages in and the PTY's output back, with nothing else: no auth, no
// framing, no multiplexing.
func ptyServer(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 24)
	cmd := exec.Command("sh", "-c", "stty raw -echo; exec cat")
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: 80, Rows: 24})
	if err != nil {
		return
	}
	defer func() { ptmx.Close(); _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := ptmx.Read(buf)
			if n > 0 && c.Write(r.Context(), websocket.MessageBinary, buf[:n]) != nil {
				return
			}
			if err != nil {
				return
			}
		}
	}()
	for {
		_, b, err := c.Read(r.Context())
		if err != nil {
			return
		}
		if _, err := ptmx.Write(b); err != nil {
			return
		}
	}
}

// baseline: client → plain ws proxy → endpoint, over loopback; one
// upstream connection per session.
// setupBaseline opens s sessions through a plain ws proxy to endpoint.
func setupBaseline(t *testing.T, s int, endpoint http.HandlerFunc) []*websocket.Conn {
	echo := httptest.NewServer(endpoint)
	t.Cleanup(echo.Close)
	up := "ws" + strings.TrimPrefix(echo.URL, "http")
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		u, _, err := websocket.Dial(r.Context(), up, nil)
		if err != nil {
			return
		}
		defer u.CloseNow()
		c.SetReadLimit(1 << 24)
		u.SetReadLimit(1 << 24)
		pctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		pipe := func(dst, src *websocket.Conn) {
			defer cancel()
			for {
				typ, b, err := src.Read(pctx)
				if err != nil {
					return
				}
				if err := dst.Write(pctx, typ, b); err != nil {
					return
				}
			}
		}
		go pipe(u, c)
		pipe(c, u)
	}))
	t.Cleanup(proxy.Close)
	url := "ws" + strings.TrimPrefix(proxy.URL, "http")
	conns := make([]*websocket.Conn, 0, s)
	for i := 0; i < s; i++ {
		c, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			t.Fatalf("baseline dial %d: %v", i, err)
		}
		t.Cleanup(func() { _ = c.CloseNow() })
		conns = append(conns, c)
	}
	return conns
}

func h200(t *testing.T) gpu.Discoverer {
	xml, err := os.ReadFile("../../gpu/testdata/h200-busy.xml")
	if err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(t.TempDir(), "kern.log")
	if err := os.WriteFile(log, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return gpu.NvidiaSMI{Path: "nvidia-smi", KernelLog: log,
		Run: func(context.Context, string, ...string) ([]byte, error) { return xml, nil }}
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// setupGateway opens s sessions through /ws/terminal to one allocation on
// a real agent.
func setupGateway(t *testing.T, s int) []*websocket.Conn {
	env := servertest.Start(t, func(c *config.Server) {
		c.Runtime = "agent"
		c.HeartbeatInterval = time.Second
		c.TerminalIdleTimeout = time.Hour
	})
	inv := env.App.Inventory
	node, jt := env.H200Node(t, "h200-host")
	actx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- agent.Run(actx, agent.Config{Server: env.URL, JoinToken: jt, DataDir: t.TempDir(), Runtime: "sim",
			Version: "bench", Discoverer: h200(t), MaxBackoff: 200 * time.Millisecond})
	}()
	t.Cleanup(func() { stop(); <-done })
	eventually(t, 20*time.Second, "agent online", func() bool {
		n, err := inv.GetNode(ctx, node.Id)
		return err == nil && n.Status == api.NodeStatusOnline && len(n.Gpus) == 1
	})
	env.Fund(t, 100_000)
	c, _ := env.As("user")
	a, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h200-x1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "allocation active", func() bool {
		got, err := c.GetAllocation(ctx, a.Id)
		return err == nil && got.Status == api.AllocationStatusActive
	})
	url := "ws" + strings.TrimPrefix(env.URL, "http") + "/ws/terminal/" + a.Id.String()
	conns := make([]*websocket.Conn, 0, s)
	for i := 0; i < s; i++ {
		// Minting is rate limited per user: wait out 429s (Retry-After).
		tok, err := c.MintTerminalToken(ctx, a.Id)
		for tries := 0; err != nil && tries < 120; tries++ {
			var ae *sdk.Error
			if !errors.As(err, &ae) || ae.Status != http.StatusTooManyRequests {
				break
			}
			time.Sleep(max(ae.RetryAfter, 200*time.Millisecond))
			tok, err = c.MintTerminalToken(ctx, a.Id)
		}
		if err != nil {
			t.Fatalf("mint %d: %v", i, err)
		}
		ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{
			"Authorization":             {"Bearer " + tok.Token},
			"X-Gpuaas-Terminal-Command": {"stty raw -echo; exec cat"},
		}})
		if err != nil {
			t.Fatalf("terminal dial %d: %v", i, err)
		}
		t.Cleanup(func() { _ = ws.CloseNow() })
		ws.SetReadLimit(1 << 24)
		// Wait for session_ready, then let stty take effect.
		rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		for {
			typ, b, err := ws.Read(rctx)
			if err != nil {
				cancel()
				t.Fatalf("session %d: %v", i, err)
			}
			if typ == websocket.MessageText && strings.Contains(string(b), "session_ready") {
				break
			}
		}
		cancel()
		conns = append(conns, ws)
	}
	return conns
}

// median of xs (sorted in place).
func median(xs []time.Duration) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
	return xs[len(xs)/2]
}

func medianF(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sort.Float64s(xs)
	return xs[len(xs)/2]
}

// TestBenchTerminal opens S sessions on each path, then drives the paths
// in turn for ROUNDS rounds of DUR/ROUNDS each, so that a load spike on
// this shared machine hits all of them alike; it reports per-path medians
// over the rounds and the median of the per-round p99 ratios.
func TestBenchTerminal(t *testing.T) {
	if os.Getenv("GPUAAS_BENCH_TERMINAL") != "1" {
		t.Skip("set GPUAAS_BENCH_TERMINAL=1 (make bench-terminal)")
	}
	s := envInt("S", 100)
	rate := envInt("RATE", 40960)
	dur := envDur("DUR", 15*time.Second)
	rounds := envInt("ROUNDS", 5)
	paths := []*path{
		newPath("ws-echo", setupBaseline(t, s, echoServer)),
		newPath("baseline", setupBaseline(t, s, ptyServer)),
		newPath("gateway", setupGateway(t, s)),
	}
	time.Sleep(500 * time.Millisecond) // let every stty take effect
	type agg struct {
		p50, p99 []time.Duration
		held     int
		bytes    int64
		probes   int
		elapsed  time.Duration
	}
	aggs := make([]agg, len(paths))
	var ratioBase, ratioEcho []float64
	for r := 0; r < rounds; r++ {
		var p99s [3]time.Duration
		for i, p := range paths {
			res := p.round(rate, dur/time.Duration(rounds))
			a := &aggs[i]
			a.p50, a.p99 = append(a.p50, res.pct(0.5)), append(a.p99, res.pct(0.99))
			if r == 0 || res.held < a.held {
				a.held = res.held
			}
			a.bytes += res.bytes
			a.probes += len(res.rtts)
			a.elapsed += res.dur
			p99s[i] = res.pct(0.99)
		}
		if p99s[1] > 0 && p99s[0] > 0 {
			ratioBase = append(ratioBase, float64(p99s[2])/float64(p99s[1]))
			ratioEcho = append(ratioEcho, float64(p99s[2])/float64(p99s[0]))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "bench-terminal: S=%d RATE=%d B/s per session DUR=%s in %d rounds (offered %d B/s total per path)\n", s, rate, dur, rounds, s*rate)
	fmt.Fprintf(&b, "%-10s %13s %14s %14s %14s %8s\n", "path", "held (min)", "bytes/s echo", "rtt p50 (med)", "rtt p99 (med)", "probes")
	for i, p := range paths {
		a := aggs[i]
		fmt.Fprintf(&b, "%-10s %6d/%-6d %14.0f %14s %14s %8d\n", p.name, a.held, s, float64(a.bytes)/a.elapsed.Seconds(),
			median(a.p50).Round(10*time.Microsecond), median(a.p99).Round(10*time.Microsecond), a.probes)
	}
	fmt.Fprintf(&b, "ws-echo:  client -> ws proxy -> ws echo (no PTY), for reference\n")
	fmt.Fprintf(&b, "baseline: client -> ws proxy -> ws server -> PTY running the same cat (same hops as the gateway)\n")
	fmt.Fprintf(&b, "gateway:  client -> /ws/terminal -> agent connection (yamux) -> agent -> PTY running cat\n")
	fmt.Fprintf(&b, "gateway p99 / baseline p99, median of %d rounds = %.2f (target <= 1.5); gateway p99 / ws-echo p99 = %.2f\n",
		len(ratioBase), medianF(ratioBase), medianF(ratioEcho))
	fmt.Print(b.String())
}
