package ledger_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/ledger"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
	"github.com/gpuaas/gpuaas/internal/store/dbtest"
)

func newUser(t *testing.T, st *store.Store) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	name := "u" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
	err := st.Pool().QueryRow(context.Background(),
		`INSERT INTO users (username, email, role, password_hash) VALUES ($1, $1 || '@example.com', 'user', 'x') RETURNING id`,
		name).Scan(&id)
	if err != nil {
		t.Fatalf("insert user: %v", err)
	}
	return id
}

func mustCheck(t *testing.T, st *store.Store) {
	t.Helper()
	if err := ledger.Check(context.Background(), st.Queries); err != nil {
		t.Fatal(err)
	}
	var total int64
	if err := st.Pool().QueryRow(context.Background(), `SELECT COALESCE(SUM(amount_minor), 0) FROM ledger_entries`).Scan(&total); err != nil {
		t.Fatal(err)
	}
	if total != 0 {
		t.Fatalf("entries sum to %d, want 0", total)
	}
}

func TestPostIsIdempotent(t *testing.T) {
	ctx := context.Background()
	st := dbtest.New(t)
	u := newUser(t, st)
	p := ledger.Posting{Key: "k1", Kind: ledger.KindAdjustment, UserID: u, Currency: "USD", Amount: 500, Memo: "gift"}
	for i, want := range []bool{true, false} {
		posted, err := ledger.Post(ctx, st, p)
		if err != nil || posted != want {
			t.Fatalf("post %d: posted=%v err=%v, want %v", i, posted, err, want)
		}
	}
	// A different amount under the same key still posts nothing.
	p.Amount = 9999
	if posted, err := ledger.Post(ctx, st, p); err != nil || posted {
		t.Fatalf("reused key: posted=%v err=%v", posted, err)
	}
	b, err := ledger.Balance(ctx, st.Queries, u, "USD")
	if err != nil || b != 500 {
		t.Fatalf("balance = %d, %v; want 500", b, err)
	}
	var entries int
	if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM ledger_entries`).Scan(&entries); err != nil || entries != 2 {
		t.Fatalf("entries = %d, %v; want 2", entries, err)
	}
	mustCheck(t, st)
}

func TestConcurrentSameKeyPostsOnce(t *testing.T) {
	ctx := context.Background()
	st := dbtest.New(t)
	u := newUser(t, st)
	var wg sync.WaitGroup
	var mu sync.Mutex
	posted := 0
	for range 8 {
		wg.Go(func() {
			ok, err := ledger.Post(ctx, st, ledger.Posting{Key: "same", Kind: ledger.KindUsage, UserID: u, Currency: "USD", Amount: -7})
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				posted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if posted != 1 {
		t.Fatalf("posted %d times, want 1", posted)
	}
	if b, _ := ledger.Balance(ctx, st.Queries, u, "USD"); b != -7 {
		t.Fatalf("balance = %d, want -7", b)
	}
	mustCheck(t, st)
}

func TestBalancesMatchEntries(t *testing.T) {
	ctx := context.Background()
	st := dbtest.New(t)
	users := []uuid.UUID{newUser(t, st), newUser(t, st), newUser(t, st)}
	want := map[uuid.UUID]int64{}
	var wg sync.WaitGroup
	for i := range 60 {
		u := users[i%len(users)]
		kind := []ledger.Kind{ledger.KindUsage, ledger.KindAdjustment, ledger.KindPayment}[i%3]
		amount := int64(i*37%101 - 50)
		if amount != 0 {
			want[u] += amount
		}
		wg.Go(func() {
			if _, err := ledger.Post(ctx, st, ledger.Posting{Key: fmt.Sprint("k", i), Kind: kind, UserID: u, Currency: "USD", Amount: amount}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, u := range users {
		if b, _ := ledger.Balance(ctx, st.Queries, u, "USD"); b != want[u] {
			t.Errorf("balance of %s = %d, want %d", u, b, want[u])
		}
	}
	mustCheck(t, st)
}

func TestZeroAmountPostsNothing(t *testing.T) {
	ctx := context.Background()
	st := dbtest.New(t)
	u := newUser(t, st)
	if posted, err := ledger.Post(ctx, st, ledger.Posting{Key: "z", Kind: ledger.KindUsage, UserID: u, Currency: "USD"}); err != nil || posted {
		t.Fatalf("posted=%v err=%v", posted, err)
	}
	var n int
	_ = st.Pool().QueryRow(ctx, `SELECT count(*) FROM ledger_transactions`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d transactions, want 0", n)
	}
}

func TestPostValidates(t *testing.T) {
	ctx := context.Background()
	st := dbtest.New(t)
	u := newUser(t, st)
	for name, p := range map[string]ledger.Posting{
		"no key":     {Kind: ledger.KindUsage, UserID: u, Currency: "USD", Amount: 1},
		"bad kind":   {Key: "a", Kind: "gift", UserID: u, Currency: "USD", Amount: 1},
		"bad curr":   {Key: "b", Kind: ledger.KindUsage, UserID: u, Currency: "usd", Amount: 1},
		"no user":    {Key: "c", Kind: ledger.KindUsage, Currency: "USD", Amount: 1},
		"ghost user": {Key: "d", Kind: ledger.KindUsage, UserID: uuid.New(), Currency: "USD", Amount: 1},
	} {
		if _, err := ledger.Post(ctx, st, p); err == nil {
			t.Errorf("%s: posted, want an error", name)
		}
	}
	mustCheck(t, st)
}

func TestLedgerRowsAreAppendOnly(t *testing.T) {
	ctx := context.Background()
	st := dbtest.New(t)
	u := newUser(t, st)
	if _, err := ledger.Post(ctx, st, ledger.Posting{Key: "k", Kind: ledger.KindAdjustment, UserID: u, Currency: "USD", Amount: 10}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE ledger_entries SET amount_minor = amount_minor * 2`,
		`DELETE FROM ledger_entries`,
		`UPDATE ledger_transactions SET memo = 'changed'`,
		`DELETE FROM ledger_transactions`,
	} {
		if _, err := st.Pool().Exec(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want the append-only refusal", q, err)
		}
	}
	mustCheck(t, st)
}

func TestLockBalanceSerialises(t *testing.T) {
	ctx := context.Background()
	st := dbtest.New(t)
	u := newUser(t, st)
	if _, err := ledger.Post(ctx, st, ledger.Posting{Key: "seed", Kind: ledger.KindAdjustment, UserID: u, Currency: "USD", Amount: 100}); err != nil {
		t.Fatal(err)
	}
	// Many transactions each spend 30 if the balance they read under the
	// lock allows it: with the lock, exactly three succeed.
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			err := st.InTx(ctx, func(tx *store.Store) error {
				b, err := ledger.LockBalance(ctx, tx, u, "USD")
				if err != nil || b < 30 {
					return err
				}
				_, err = ledger.Post(ctx, tx, ledger.Posting{Key: fmt.Sprint("spend", i), Kind: ledger.KindUsage, UserID: u, Currency: "USD", Amount: -30})
				return err
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if b, _ := ledger.Balance(ctx, st.Queries, u, "USD"); b != 10 {
		t.Fatalf("balance = %d, want 10", b)
	}
	// A user with no account yet gets one at zero.
	v := newUser(t, st)
	err := st.InTx(ctx, func(tx *store.Store) error {
		b, err := ledger.LockBalance(ctx, tx, v, "USD")
		if err == nil && b != 0 {
			err = fmt.Errorf("balance %d, want 0", b)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, st)
}

// TestBalanceLockForSKUSerialises is TestLockBalanceSerialises for the
// two-step lock a create sends with its other first reads: it locks the
// account in the SKU's currency in that round trip, so racing spenders
// still go one at a time, and the read sent after it sees the balance it
// locked. A user with no account in that currency gets one (at zero) in
// the second step, and the read runs again, under the lock.
func TestBalanceLockForSKUSerialises(t *testing.T) {
	ctx := context.Background()
	st := dbtest.New(t)
	if _, err := st.Pool().Exec(ctx, `INSERT INTO regions (id, name) VALUES ('r1', 'R1')`); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool().Exec(ctx, `INSERT INTO skus (id, name, gpu_model, gpu_count, gpu_memory_mib, vcpu, memory_mib, disk_gib, price_per_hour_minor, currency, region)
		VALUES ('eur-sku', 'EUR', 'H100', 1, 80000, 8, 64000, 100, 100, 'EUR', 'r1')`); err != nil {
		t.Fatal(err)
	}
	u := newUser(t, st)
	if _, err := ledger.Post(ctx, st, ledger.Posting{Key: "seed", Kind: ledger.KindAdjustment, UserID: u, Currency: "EUR", Amount: 100}); err != nil {
		t.Fatal(err)
	}
	// under is what the read after the lock saw, each time it ran.
	type under struct {
		runs    int
		seen    int64
		seenErr error
	}
	lockAndSpend := func(user uuid.UUID, key string) (balance int64, read under, err error) {
		err = st.InTx(ctx, func(tx *store.Store) error {
			read = under{}
			lock := ledger.LockBalanceForSKU(ctx, user, "eur-sku", func(q *db.Queries) error {
				read.runs++
				read.seen, read.seenErr = q.UserBalance(ctx, db.UserBalanceParams{UserID: uuid.NullUUID{UUID: user, Valid: true}, Currency: "EUR"})
				return nil
			})
			if err := tx.Together(ctx, lock.Reads()...); err != nil {
				return err
			}
			var err error
			if balance, err = lock.Balance(tx, "EUR"); err != nil || balance < 30 {
				return err
			}
			_, err = ledger.Post(ctx, tx, ledger.Posting{Key: key, Kind: ledger.KindUsage, UserID: user, Currency: "EUR", Amount: -30})
			return err
		})
		return balance, read, err
	}
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			b, read, err := lockAndSpend(u, fmt.Sprint("spend", i))
			if err != nil || read.runs != 1 || read.seenErr != nil || read.seen != b {
				t.Errorf("spend %d: locked %d, the read after the lock ran %d time(s) and saw %d (%v); %v",
					i, b, read.runs, read.seen, read.seenErr, err)
			}
		})
	}
	wg.Wait()
	if b, _ := ledger.Balance(ctx, st.Queries, u, "EUR"); b != 10 {
		t.Fatalf("balance = %d, want 10", b)
	}
	if b, read, err := lockAndSpend(newUser(t, st), "first"); err != nil || b != 0 || read.runs != 2 || read.seenErr != nil {
		t.Fatalf("a user's first account: balance %d, the read after the lock ran %d time(s), last %v; %v (want 0, twice, the new account)",
			b, read.runs, read.seenErr, err)
	}
	mustCheck(t, st)
}
