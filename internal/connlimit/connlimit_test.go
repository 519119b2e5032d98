package connlimit_test

import (
	"sync"
	"testing"

	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/connlimit"
)

func TestCapsPerKeyAndInTotal(t *testing.T) {
	l := connlimit.New(2, 3, nil)
	a1, err := l.Acquire("a", "notifications")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Acquire("a", "terminal"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Acquire("a", "terminal"); !apperr.HasCode(err, connlimit.CodeTooManyWebsockets) || !apperr.IsKind(err, apperr.KindRateLimited) {
		t.Fatalf("third for a: %v", err)
	}
	if _, err := l.Acquire("b", "notifications"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Acquire("c", "notifications"); !apperr.HasCode(err, connlimit.CodeTooManyConnections) || !apperr.IsKind(err, apperr.KindUnavailable) {
		t.Fatalf("past the total: %v", err)
	}
	a1()
	a1() // a second release is a no-op
	if _, err := l.Acquire("c", "notifications"); err != nil {
		t.Fatalf("after a release: %v", err)
	}
	if _, err := l.Acquire("d", "notifications"); err == nil {
		t.Fatal("a double release freed two places")
	}
}

func TestConcurrentAcquireNeverExceedsTheCap(t *testing.T) {
	l := connlimit.New(1000, 50, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := 0
	for range 200 {
		wg.Go(func() {
			if _, err := l.Acquire("k", "notifications"); err == nil {
				mu.Lock()
				got++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if got != 50 {
		t.Fatalf("%d acquired, want 50", got)
	}
}
