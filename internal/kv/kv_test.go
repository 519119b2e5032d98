package kv_test

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/kv"
)

// backends runs each test against the in-process store and a real Redis.
func backends(t *testing.T) map[string]kv.Store {
	url := os.Getenv("GPUAAS_TEST_REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	r, c, err := kv.OpenRedis(context.Background(), url, "gpuaas-test:"+uuid.NewString()+":")
	if err != nil {
		t.Fatalf("redis at %s: %v (is Redis running?)", url, err)
	}
	t.Cleanup(func() { c.Close() })
	return map[string]kv.Store{"memory": kv.NewMemory(nil), "redis": r}
}

func TestTakeEnforcesBurstThenRefills(t *testing.T) {
	for name, s := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			for i := 0; i < 5; i++ {
				ok, _, err := s.Take(ctx, "b", 20, 5)
				if err != nil || !ok {
					t.Fatalf("take %d: ok=%v err=%v", i, ok, err)
				}
			}
			ok, wait, err := s.Take(ctx, "b", 20, 5)
			if err != nil || ok {
				t.Fatalf("6th take within burst: ok=%v err=%v", ok, err)
			}
			if wait <= 0 || wait > 60*time.Millisecond {
				t.Fatalf("retry after %v, want about 50ms", wait)
			}
			deadline := time.Now().Add(2 * time.Second)
			for {
				if ok, _, _ := s.Take(ctx, "b", 20, 5); ok {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("bucket never refilled")
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// A flagged caller (a revoked token) is told so and spends nothing; an
// unflagged one spends from the bucket exactly as Take does.
func TestTakeUnlessFlagged(t *testing.T) {
	for name, s := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			for i := 0; i < 2; i++ {
				flagged, ok, _, err := s.TakeUnlessFlagged(ctx, "tb", 0.001, 2, "deny-a", "deny-b")
				if err != nil || flagged || !ok {
					t.Fatalf("take %d: flagged=%v ok=%v err=%v", i, flagged, ok, err)
				}
			}
			flagged, ok, wait, err := s.TakeUnlessFlagged(ctx, "tb", 0.001, 2, "deny-a", "deny-b")
			if err != nil || flagged || ok || wait <= 0 {
				t.Fatalf("third take of a burst of 2: flagged=%v ok=%v wait=%v err=%v", flagged, ok, wait, err)
			}
			if err := s.SetFlag(ctx, "deny-b", time.Minute); err != nil {
				t.Fatal(err)
			}
			if flagged, ok, _, err := s.TakeUnlessFlagged(ctx, "fresh", 1, 5, "deny-a", "deny-b"); err != nil || !flagged || ok {
				t.Fatalf("flagged take: flagged=%v ok=%v err=%v", flagged, ok, err)
			}
			// The flagged call spent nothing: the fresh bucket still holds its whole burst.
			for i := 0; i < 5; i++ {
				if ok, _, err := s.Take(ctx, "fresh", 0.001, 5); err != nil || !ok {
					t.Fatalf("take %d after a flagged call: ok=%v err=%v", i, ok, err)
				}
			}
			if ok, _, _ := s.Take(ctx, "fresh", 0.001, 5); ok {
				t.Fatal("bucket held more than its burst")
			}
		})
	}
}

func TestIncrCountsWithinWindow(t *testing.T) {
	for name, s := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			for i := int64(1); i <= 3; i++ {
				n, ttl, err := s.Incr(ctx, "c", time.Minute)
				if err != nil || n != i || ttl <= 0 || ttl > time.Minute {
					t.Fatalf("incr %d: n=%d ttl=%v err=%v", i, n, ttl, err)
				}
			}
			if n, _, _ := s.Count(ctx, "c"); n != 3 {
				t.Fatalf("count = %d", n)
			}
			if err := s.Delete(ctx, "c"); err != nil {
				t.Fatal(err)
			}
			if n, _, _ := s.Count(ctx, "c"); n != 0 {
				t.Fatalf("count after delete = %d", n)
			}
		})
	}
}

func TestFlagsExpire(t *testing.T) {
	for name, s := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			if err := s.SetFlag(ctx, "f", 50*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			if ok, err := s.HasFlag(ctx, "f"); !ok || err != nil {
				t.Fatalf("flag not set: %v %v", ok, err)
			}
			deadline := time.Now().Add(2 * time.Second)
			for {
				ok, _ := s.HasFlag(ctx, "f")
				if !ok {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("flag never expired")
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

func TestSetValueGetDel(t *testing.T) {
	for name, s := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			if _, ok, err := s.GetDel(ctx, "v"); err != nil || ok {
				t.Fatalf("absent key: ok=%v err=%v", ok, err)
			}
			if err := s.SetValue(ctx, "v", "hello", time.Minute); err != nil {
				t.Fatal(err)
			}
			v, ok, err := s.GetDel(ctx, "v")
			if err != nil || !ok || v != "hello" {
				t.Fatalf("getdel = %q %v %v", v, ok, err)
			}
			if _, ok, err := s.GetDel(ctx, "v"); err != nil || ok {
				t.Fatalf("second getdel: ok=%v err=%v", ok, err)
			}
			// Expiry.
			if err := s.SetValue(ctx, "e", "x", 50*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			time.Sleep(120 * time.Millisecond)
			if _, ok, err := s.GetDel(ctx, "e"); err != nil || ok {
				t.Fatalf("expired key: ok=%v err=%v", ok, err)
			}
		})
	}
}

func TestGetDelOneWinner(t *testing.T) {
	for name, s := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			if err := s.SetValue(ctx, "once", "v", time.Minute); err != nil {
				t.Fatal(err)
			}
			var wins atomic.Int64
			var wg sync.WaitGroup
			for i := 0; i < 50; i++ {
				wg.Go(func() {
					if _, ok, err := s.GetDel(ctx, "once"); err != nil {
						t.Error(err)
					} else if ok {
						wins.Add(1)
					}
				})
			}
			wg.Wait()
			if wins.Load() != 1 {
				t.Fatalf("%d winners, want 1", wins.Load())
			}
		})
	}
}
