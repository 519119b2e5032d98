package idempotency_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/idempotency"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
	"github.com/gpuaas/gpuaas/internal/store/dbtest"
)

// TestRunReadsTheKeyInTheWorksRoundTrip: with a key, the check costs no
// round trip of its own (it goes with fn's first statements), a retry is
// replayed byte for byte without fn's work taking effect, another body
// under the key is 422, and a retry that fn would now refuse before
// touching the database is still replayed.
func TestRunReadsTheKeyInTheWorksRoundTrip(t *testing.T) {
	ctx := context.Background()
	st, trips := dbtest.NewCounting(t)
	user, err := st.CreateUser(ctx, db.CreateUserParams{Username: "ada", Email: "ada@example.com", Role: "user", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	req := idempotency.Request{UserID: user.ID, Key: "k-1", Route: "POST /probe", Body: []byte(`{"n":1}`)}
	work := func(tx *store.Store) (int, []byte, error) {
		err := tx.Together(ctx,
			func(q *db.Queries) error { _, err := q.CountUsers(ctx); return err },
			func(q *db.Queries) error {
				_, err := q.CreateUser(ctx, db.CreateUserParams{Username: "bob", Email: "bob@example.com", Role: "user", PasswordHash: "x"})
				return err
			})
		if err != nil {
			return 0, nil, err
		}
		return 201, []byte(`{"made":1}`), nil
	}
	trips.Reset()
	resp, err := idempotency.Run(ctx, st, req, work)
	if err != nil || resp.Status != 201 || resp.Replayed {
		t.Fatalf("first: %+v %v", resp, err)
	}
	// BEGIN, the key's read and fn's statements; the key's insert with
	// the COMMIT.
	if n := trips.N(); n != 2 {
		t.Errorf("a first request made %d round trips, want 2 (the key's read goes with fn's first statements)", n)
	}
	again, err := idempotency.Run(ctx, st, req, work)
	if err != nil || !again.Replayed || again.Status != 201 || string(again.Body) != `{"made":1}` {
		t.Fatalf("retry: %+v %v", again, err)
	}
	if n, err := st.CountUsers(ctx); err != nil || n != 2 {
		t.Fatalf("%d users after a retry (%v), want 2", n, err)
	}

	other := req
	other.Body = []byte(`{"n":2}`)
	if _, err := idempotency.Run(ctx, st, other, work); !apperr.HasCode(err, idempotency.CodeMismatch) {
		t.Errorf("another body under the key: %v", err)
	}
	refuse := func(*store.Store) (int, []byte, error) { return 0, nil, apperr.Invalid("no longer accepted") }
	if r, err := idempotency.Run(ctx, st, req, refuse); err != nil || !r.Replayed {
		t.Errorf("a retry fn now refuses before any statement: %+v %v", r, err)
	}
	fresh := req
	fresh.Key = "k-2"
	if _, err := idempotency.Run(ctx, st, fresh, refuse); !apperr.HasCode(err, "invalid_request") {
		t.Errorf("a new key fn refuses: %v", err)
	}
	boom := errors.New("boom")
	if _, err := idempotency.Run(ctx, st, fresh, func(*store.Store) (int, []byte, error) { return 0, nil, boom }); !errors.Is(err, boom) {
		t.Errorf("fn's own error: %v", err)
	}
}
