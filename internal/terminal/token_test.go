package terminal_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/internal/kv"
	"github.com/gpuaas/gpuaas/internal/terminal"
)

var ctx = context.Background()

// backends returns the in-process store and a real Redis under a prefix of
// this test's own.
func backends(t *testing.T) map[string]kv.Store {
	url := os.Getenv("GPUAAS_TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	r, c, err := kv.OpenRedis(ctx, url, "gpuaas-test:"+uuid.NewString()+":")
	if err != nil {
		t.Fatalf("redis at %s: %v (is Redis running?)", url, err)
	}
	t.Cleanup(func() { c.Close() })
	return map[string]kv.Store{"memory": kv.NewMemory(nil), "redis": r}
}

func TestMintThenConsumeOnce(t *testing.T) {
	for name, s := range backends(t) {
		t.Run(name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			tk := terminal.New(s, time.Minute, reg)
			alloc, user := uuid.New(), uuid.New()
			tok, exp, err := tk.Mint(ctx, alloc, user)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(tok, "gpt_") || len(tok) != 4+43 {
				t.Fatalf("token %q", tok)
			}
			if d := time.Until(exp); d <= 50*time.Second || d > time.Minute {
				t.Fatalf("expires in %v", d)
			}
			got, err := tk.Consume(ctx, tok, alloc)
			if err != nil || got != user {
				t.Fatalf("consume = %v %v", got, err)
			}
			if _, err := tk.Consume(ctx, tok, alloc); !errors.Is(err, terminal.ErrInvalid) {
				t.Fatalf("replay: %v", err)
			}
			if _, err := tk.Consume(ctx, "gpt_nope", alloc); !errors.Is(err, terminal.ErrInvalid) {
				t.Fatalf("unknown: %v", err)
			}
			if _, err := tk.Consume(ctx, "not-a-token", alloc); !errors.Is(err, terminal.ErrInvalid) {
				t.Fatalf("malformed: %v", err)
			}
			// Another allocation's token is refused, and spent by the attempt.
			tok2, _, _ := tk.Mint(ctx, alloc, user)
			if _, err := tk.Consume(ctx, tok2, uuid.New()); !errors.Is(err, terminal.ErrMismatch) {
				t.Fatalf("mismatch: %v", err)
			}
			if _, err := tk.Consume(ctx, tok2, alloc); !errors.Is(err, terminal.ErrInvalid) {
				t.Fatalf("after mismatch: %v", err)
			}
			if n := counter(t, reg, "gpuaas_terminal_tokens_minted_total", ""); n != 2 {
				t.Fatalf("minted = %v", n)
			}
			want := map[string]float64{"ok": 1, "replay": 2, "mismatch": 1, "expired_or_unknown": 2}
			for result, n := range want {
				if got := counter(t, reg, "gpuaas_terminal_token_consumes_total", result); got != n {
					t.Errorf("consumes{result=%s} = %v, want %v", result, got, n)
				}
			}
		})
	}
}

func TestExpiredTokenRefused(t *testing.T) {
	for name, s := range backends(t) {
		t.Run(name, func(t *testing.T) {
			tk := terminal.New(s, 50*time.Millisecond, nil)
			alloc := uuid.New()
			tok, _, err := tk.Mint(ctx, alloc, uuid.New())
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(120 * time.Millisecond)
			if _, err := tk.Consume(ctx, tok, alloc); !errors.Is(err, terminal.ErrInvalid) {
				t.Fatalf("expired: %v", err)
			}
		})
	}
}

// TestConcurrentConsumeOneWinner: 50 goroutines race one token; exactly one wins.
func TestConcurrentConsumeOneWinner(t *testing.T) {
	for name, s := range backends(t) {
		t.Run(name, func(t *testing.T) {
			tk := terminal.New(s, time.Minute, nil)
			alloc, user := uuid.New(), uuid.New()
			tok, _, err := tk.Mint(ctx, alloc, user)
			if err != nil {
				t.Fatal(err)
			}
			var wins, refused atomic.Int64
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := 0; i < 50; i++ {
				wg.Go(func() {
					<-start
					got, err := tk.Consume(ctx, tok, alloc)
					switch {
					case err == nil && got == user:
						wins.Add(1)
					case errors.Is(err, terminal.ErrInvalid):
						refused.Add(1)
					default:
						t.Errorf("consume: %v %v", got, err)
					}
				})
			}
			close(start)
			wg.Wait()
			if wins.Load() != 1 || refused.Load() != 49 {
				t.Fatalf("wins %d refused %d, want 1 and 49", wins.Load(), refused.Load())
			}
		})
	}
}

// counter reads a counter from reg; result selects the series by its
// result label ("" for an unlabelled counter).
func counter(t *testing.T, reg *prometheus.Registry, name, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if result == "" {
				return m.GetCounter().GetValue()
			}
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
