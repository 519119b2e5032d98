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
	"github.com/gpuaas/gpuaas/internal/inventory"
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

// drive streams rate bytes/s for dur on each conn: every 100 ms one chunk
// that opens with a timestamped probe "#<19 digits>" and is padded with 'a'.
// The reader finds probes in the echoed stream and records round trips.
func drive(t *testing.T, conns []*websocket.Conn, rate int, dur time.Duration) result {
	const tick = 100 * time.Millisecond
	chunk := rate / 10
	if chunk < 20 {
		chunk = 20
	}
	var (
		mu    sync.Mutex
		rtts  []time.Duration
		total atomic.Int64
		held  atomic.Int64
		wg    sync.WaitGroup
	)
	start := time.Now()
	end := start.Add(dur)
	for _, c := range conns {
		c.SetReadLimit(1 << 24)
		wg.Add(2)
		rctx, cancel := context.WithDeadline(ctx, end.Add(5*time.Second))
		go func() { // writer
			defer wg.Done()
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
				if err := c.Write(rctx, websocket.MessageBinary, buf); err != nil {
					return
				}
			}
		}()
		go func() { // reader
			defer wg.Done()
			defer cancel()
			var pend []byte
			var mine []time.Duration
			ok := true
			for {
				typ, b, err := c.Read(rctx)
				if err != nil {
					if time.Now().Before(end) {
						ok = false
					}
					break
				}
				if typ != websocket.MessageBinary {
					continue
				}
				now := time.Now()
				total.Add(int64(len(b)))
				pend = append(pend, b...)
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
				if now.After(end) {
					break
				}
			}
			if ok {
				held.Add(1)
			}
			mu.Lock()
			rtts = append(rtts, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Slice(rtts, func(i, j int) bool { return rtts[i] < rtts[j] })
	return result{held: int(held.Load()), bytes: total.Load(), rtts: rtts, dur: dur}
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
func baseline(t *testing.T, s, rate int, dur time.Duration, endpoint http.HandlerFunc) result {
	echo := httptest.NewServer(endpoint)
	defer echo.Close()
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
	defer proxy.Close()
	url := "ws" + strings.TrimPrefix(proxy.URL, "http")
	conns := make([]*websocket.Conn, 0, s)
	for i := 0; i < s; i++ {
		c, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			t.Fatalf("baseline dial %d: %v", i, err)
		}
		defer c.CloseNow()
		conns = append(conns, c)
	}
	time.Sleep(500 * time.Millisecond) // as the gateway: let stty take effect
	return drive(t, conns, rate, dur)
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

// gateway: S sessions through /ws/terminal to one allocation on a real agent.
func gateway(t *testing.T, s, rate int, dur time.Duration) result {
	env := servertest.Start(t, func(c *config.Server) {
		c.Runtime = "agent"
		c.HeartbeatInterval = time.Second
		c.TerminalIdleTimeout = time.Hour
	})
	inv := env.App.Inventory
	if err := inv.SeedRegion(ctx, inventory.Region{ID: "r1", Name: "R1"}); err != nil {
		t.Fatal(err)
	}
	if err := inv.SeedSKU(ctx, api.SKU{Id: "h200-x1", Name: "H200", GpuModel: "NVIDIA H200", GpuCount: 1,
		GpuMemoryMib: 143771, PricePerHourMinor: 349, Currency: "USD", Region: "r1", Active: true}); err != nil {
		t.Fatal(err)
	}
	admin, _ := env.As("admin")
	node, err := admin.AdminCreateNode(ctx, api.CreateNodeRequest{Hostname: "h200-host", Region: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	jt, err := admin.AdminIssueJoinToken(ctx, node.Id)
	if err != nil {
		t.Fatal(err)
	}
	actx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- agent.Run(actx, agent.Config{Server: env.URL, JoinToken: jt.Token, DataDir: t.TempDir(), Runtime: "sim",
			Version: "bench", Discoverer: h200(t), MaxBackoff: 200 * time.Millisecond})
	}()
	defer func() { stop(); <-done }()
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
		defer ws.CloseNow()
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
	time.Sleep(500 * time.Millisecond)
	return drive(t, conns, rate, dur)
}

func TestBenchTerminal(t *testing.T) {
	if os.Getenv("GPUAAS_BENCH_TERMINAL") != "1" {
		t.Skip("set GPUAAS_BENCH_TERMINAL=1 (make bench-terminal)")
	}
	s := envInt("S", 100)
	rate := envInt("RATE", 40960)
	dur := envDur("DUR", 15*time.Second)
	echo := baseline(t, s, rate, dur, echoServer)
	base := baseline(t, s, rate, dur, ptyServer)
	gw := gateway(t, s, rate, dur)
	row := func(name string, r result) string {
		return fmt.Sprintf("%-10s %6d/%-6d %14.0f %10s %10s %8d", name, r.held, s,
			float64(r.bytes)/r.dur.Seconds(), r.pct(0.5).Round(10*time.Microsecond), r.pct(0.99).Round(10*time.Microsecond), len(r.rtts))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "bench-terminal: S=%d RATE=%d B/s per session DUR=%s (offered %d B/s total)\n", s, rate, dur, s*rate)
	fmt.Fprintf(&b, "%-10s %13s %14s %10s %10s %8s\n", "path", "held", "bytes/s echo", "rtt p50", "rtt p99", "probes")
	b.WriteString(row("ws-echo", echo) + "\n")
	b.WriteString(row("baseline", base) + "\n")
	b.WriteString(row("gateway", gw) + "\n")
	ratio := func(a, b result) float64 {
		if b.pct(0.99) == 0 {
			return 0
		}
		return float64(a.pct(0.99)) / float64(b.pct(0.99))
	}
	fmt.Fprintf(&b, "ws-echo:  client -> ws proxy -> ws echo (no PTY), for reference\n")
	fmt.Fprintf(&b, "baseline: client -> ws proxy -> ws server -> PTY running the same cat (same hops as the gateway)\n")
	fmt.Fprintf(&b, "gateway:  client -> /ws/terminal -> agent connection (yamux) -> agent -> PTY running cat\n")
	fmt.Fprintf(&b, "gateway p99 / baseline p99 = %.2f (target <= 1.5); gateway p99 / ws-echo p99 = %.2f\n", ratio(gw, base), ratio(gw, echo))
	fmt.Print(b.String())
}
