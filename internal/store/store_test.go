package store_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/dbtest"
)

// TestEventsCommittedHook: the hook runs once per committed transaction
// that wrote events, never for a rolled-back one or one without events,
// and at once for events written outside a transaction.
func TestEventsCommittedHook(t *testing.T) {
	ctx := context.Background()
	st := dbtest.New(t)
	var kicks atomic.Int32
	st.OnEventsCommitted(func() { kicks.Add(1) })

	if err := st.InTx(ctx, func(tx *store.Store) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if n := kicks.Load(); n != 0 {
		t.Fatalf("a transaction without events kicked %d times", n)
	}
	boom := errors.New("boom")
	if err := st.InTx(ctx, func(tx *store.Store) error { tx.EventsWritten(); return boom }); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if n := kicks.Load(); n != 0 {
		t.Fatalf("a rolled-back transaction kicked %d times", n)
	}
	err := st.InTx(ctx, func(tx *store.Store) error {
		tx.EventsWritten()
		// A nested InTx shares the outer transaction and its commit.
		return tx.InTx(ctx, func(inner *store.Store) error { inner.EventsWritten(); return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := kicks.Load(); n != 1 {
		t.Fatalf("one committed transaction with events kicked %d times, want 1", n)
	}
	st.EventsWritten()
	if n := kicks.Load(); n != 2 {
		t.Fatalf("events written outside a transaction: %d kicks, want 2", n)
	}
}
