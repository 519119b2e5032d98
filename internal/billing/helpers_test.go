package billing_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/billing"
	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/ledger"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/dbtest"
)

// t0 is a fixed start; tests move an injected clock from here.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is an injectable, concurrency-safe fake clock.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock { c := &clock{}; c.set(t); return c }
func (c *clock) now() time.Time   { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) set(t time.Time)  { c.ns.Store(t.UnixNano()) }

// releaser stands in for package allocation: it records the calls and
// moves the allocation to releasing, as the real one would.
type releaser struct {
	st    *store.Store
	mu    sync.Mutex
	calls []releaseCall
	clock *clock
}

type releaseCall struct {
	id     uuid.UUID
	reason string
	at     time.Time
}

func (r *releaser) ForceRelease(ctx context.Context, id uuid.UUID, reason string) error {
	_, err := r.st.Pool().Exec(ctx, `UPDATE allocations SET status = 'releasing', release_reason = $2 WHERE id = $1`, id, reason)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, releaseCall{id, reason, r.clock.now()})
	return nil
}

func (r *releaser) Calls() []releaseCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]releaseCall(nil), r.calls...)
}

type env struct {
	t     *testing.T
	st    *store.Store
	clock *clock
	rel   *releaser
	b     *billing.Billing
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st := dbtest.New(t)
	c := newClock(t0)
	rel := &releaser{st: st, clock: c}
	e := &env{t: t, st: st, clock: c, rel: rel, b: billing.New(st, events.DefaultNaming, rel, nil, billing.WithClock(c.now))}
	e.exec(`INSERT INTO regions (id, name) VALUES ('r1', 'Region 1')`)
	return e
}

func (e *env) exec(q string, args ...any) {
	e.t.Helper()
	if _, err := e.st.Pool().Exec(context.Background(), q, args...); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
}

func (e *env) user() uuid.UUID {
	e.t.Helper()
	var id uuid.UUID
	name := "u" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
	err := e.st.Pool().QueryRow(context.Background(),
		`INSERT INTO users (username, email, role, password_hash) VALUES ($1, $1 || '@example.com', 'user', 'x') RETURNING id`,
		name).Scan(&id)
	if err != nil {
		e.t.Fatalf("insert user: %v", err)
	}
	return id
}

func (e *env) credit(user uuid.UUID, amount int64) {
	e.t.Helper()
	if _, err := ledger.Post(context.Background(), e.st, ledger.Posting{
		Key: "credit:" + uuid.NewString(), Kind: ledger.KindAdjustment, UserID: user, Currency: "USD", Amount: amount,
	}); err != nil {
		e.t.Fatal(err)
	}
}

// allocation inserts an allocation of a fresh SKU at price, active since
// activeAt (the row as package allocation leaves it at the transition).
func (e *env) allocation(user uuid.UUID, price int64, activeAt time.Time) uuid.UUID {
	return e.allocationIn(user, price, "USD", activeAt)
}

func (e *env) allocationIn(user uuid.UUID, price int64, currency string, activeAt time.Time) uuid.UUID {
	e.t.Helper()
	sku := "s" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
	e.exec(`INSERT INTO skus (id, name, gpu_model, gpu_count, gpu_memory_mib, vcpu, memory_mib, disk_gib, price_per_hour_minor, currency, region)
		VALUES ($1, $1, 'H100', 1, 80000, 8, 64000, 100, $2, 'USD', 'r1')`, sku, price)
	var id uuid.UUID
	err := e.st.Pool().QueryRow(context.Background(),
		`INSERT INTO allocations (user_id, sku_id, status, gpu_count, price_per_hour_minor, currency, active_at, status_changed_at)
		 VALUES ($1, $2, 'active', 1, $3, $4, $5, $5) RETURNING id`, user, sku, price, currency, activeAt).Scan(&id)
	if err != nil {
		e.t.Fatalf("insert allocation: %v", err)
	}
	return id
}

// event builds an allocation event envelope, as the relay delivers it.
func event(typ string, alloc, user uuid.UUID, at time.Time) events.Envelope {
	data, _ := json.Marshal(events.Allocation{AllocationID: alloc, UserID: user, Status: strings.TrimPrefix(typ, "allocation."), At: at})
	return events.Envelope{ID: uuid.Must(uuid.NewV7()), Type: typ, OccurredAt: at, Data: data}
}

func (e *env) handle(env events.Envelope) {
	e.t.Helper()
	if err := e.b.HandleEvent(context.Background(), env); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) balance(user uuid.UUID) int64 {
	e.t.Helper()
	b, err := ledger.Balance(context.Background(), e.st.Queries, user, "USD")
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// debited is the sum of the allocation's usage postings, from the user's
// entries, as a positive amount.
func (e *env) debited(alloc uuid.UUID) (total int64, postings int) {
	e.t.Helper()
	err := e.st.Pool().QueryRow(context.Background(), `
		SELECT COALESCE(-SUM(le.amount_minor), 0), count(*)
		FROM ledger_transactions lt
		JOIN ledger_entries le ON le.transaction_id = lt.id
		JOIN ledger_accounts la ON la.id = le.account_id AND la.kind = 'user'
		WHERE lt.allocation_id = $1 AND lt.kind = 'usage'`, alloc).Scan(&total, &postings)
	if err != nil {
		e.t.Fatal(err)
	}
	return total, postings
}

type usageRow struct {
	started, ended *time.Time
	charged, secs  int64
}

func (e *env) usage(alloc uuid.UUID) usageRow {
	e.t.Helper()
	var r usageRow
	var started time.Time
	err := e.st.Pool().QueryRow(context.Background(),
		`SELECT started_at, ended_at, charged_minor, charged_seconds FROM usage_records WHERE allocation_id = $1`, alloc).
		Scan(&started, &r.ended, &r.charged, &r.secs)
	if err != nil {
		e.t.Fatalf("read usage of %s: %v", alloc, err)
	}
	r.started = &started
	return r
}

// outbox counts events of typ for user.
func (e *env) outbox(typ string, user uuid.UUID) int {
	e.t.Helper()
	var n int
	err := e.st.Pool().QueryRow(context.Background(),
		`SELECT count(*) FROM outbox WHERE type = $1 AND payload->'data'->>'user_id' = $2`, typ, user.String()).Scan(&n)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// checkLedger asserts the ledger's invariants.
func (e *env) checkLedger() {
	e.t.Helper()
	if err := ledger.Check(context.Background(), e.st.Queries); err != nil {
		e.t.Fatal(err)
	}
	var sum int64
	if err := e.st.Pool().QueryRow(context.Background(), `SELECT COALESCE(SUM(amount_minor), 0) FROM ledger_entries`).Scan(&sum); err != nil {
		e.t.Fatal(err)
	}
	if sum != 0 {
		e.t.Fatalf("ledger entries sum to %d, want 0", sum)
	}
}
