package ratelimit_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/kv"
	"github.com/gpuaas/gpuaas/internal/ratelimit"
)

// backends returns an in-process store on a fake clock and a real Redis.
func backends(t *testing.T, now func() time.Time) map[string]kv.Store {
	url := os.Getenv("GPUAAS_TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	r, c, err := kv.OpenRedis(context.Background(), url, "gpuaas-test:"+uuid.NewString()+":")
	if err != nil {
		t.Fatalf("redis at %s: %v (is Redis running?)", url, err)
	}
	t.Cleanup(func() { c.Close() })
	return map[string]kv.Store{"memory": kv.NewMemory(now), "redis": r}
}

func TestTakeAllowsBurstThenLimits(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	for name, store := range backends(t, func() time.Time { return now }) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			l := ratelimit.New(store, prometheus.NewRegistry())
			for i := 0; i < 3; i++ {
				if err := l.Take(ctx, "k", 0.5, 3); err != nil {
					t.Fatalf("take %d within burst: %v", i, err)
				}
			}
			err := l.Take(ctx, "k", 0.5, 3)
			e, ok := apperr.As(err)
			if !ok || e.Kind != apperr.KindRateLimited {
				t.Fatalf("4th take: %v, want rate limited", err)
			}
			// One token per 2s: Retry-After is 2s, rounded to whole seconds.
			if e.RetryAfter != 2*time.Second || e.Message != "too many requests; retry in 2s" {
				t.Fatalf("retry after %v, message %q", e.RetryAfter, e.Message)
			}
			if err := l.Take(ctx, "other", 0.5, 3); err != nil {
				t.Fatalf("other key limited: %v", err)
			}
		})
	}
}

func TestTakeRefillsWithTheClock(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := ratelimit.New(kv.NewMemory(func() time.Time { return now }), nil)
	ctx := context.Background()
	if err := l.Take(ctx, "k", 1, 1); err != nil {
		t.Fatal(err)
	}
	if err := l.Take(ctx, "k", 1, 1); err == nil {
		t.Fatal("second take allowed")
	}
	now = now.Add(time.Second)
	if err := l.Take(ctx, "k", 1, 1); err != nil {
		t.Fatalf("take after refill: %v", err)
	}
}

func TestTakeFailsOpenWhenStoreIsDown(t *testing.T) {
	// A real client pointed at a port nobody listens on stands in for a
	// Redis outage.
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1, DialerRetries: 1, DialerRetryTimeout: time.Millisecond})
	t.Cleanup(func() { c.Close() })
	reg := prometheus.NewRegistry()
	l := ratelimit.New(kv.NewRedis(c, "x:"), reg)
	for i := 0; i < 3; i++ {
		if err := l.Take(context.Background(), "k", 1, 1); err != nil {
			t.Fatalf("take %d with store down: %v, want allowed", i, err)
		}
	}
	l.FailOpen("denylist")
	if got := counter(t, reg, "take"); got != 3 {
		t.Errorf("fail-open{op=take} = %v, want 3", got)
	}
	if got := counter(t, reg, "denylist"); got != 1 {
		t.Errorf("fail-open{op=denylist} = %v, want 1", got)
	}
}

func TestLimitedRoundsUp(t *testing.T) {
	for in, want := range map[time.Duration]time.Duration{
		0:                       time.Second,
		10 * time.Millisecond:   time.Second,
		1500 * time.Millisecond: 2 * time.Second,
		3 * time.Second:         3 * time.Second,
	} {
		if got := ratelimit.Limited(in).RetryAfter; got != want {
			t.Errorf("Limited(%v).RetryAfter = %v, want %v", in, got, want)
		}
	}
}

func counter(t *testing.T, g prometheus.Gatherer, op string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "gpuaas_kv_fail_open_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "op" && lp.GetValue() == op {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
