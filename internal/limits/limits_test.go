package limits_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/allocation"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/billing"
	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/inventory"
	"github.com/gpuaas/gpuaas/internal/limits"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/dbtest"
	"github.com/gpuaas/gpuaas/internal/users"
)

var ctx = context.Background()

const h100 = "NVIDIA H100 80GB HBM3"

type noRelease struct{}

func (noRelease) ForceRelease(context.Context, uuid.UUID, string) error { return nil }

type fixture struct {
	st   *store.Store
	lim  *limits.Service
	svc  *allocation.Service
	bill *billing.Billing
}

// newFixture: SKUs h100-x1 and h100-x2 at USD 36.00 an hour per SKU and
// h100-eur (1 GPU, EUR 36.00), on 8 nodes of 8 GPUs, with the real funds
// lock and limits check wired as the server wires them.
func newFixture(t *testing.T, def limits.Defaults) *fixture {
	t.Helper()
	f := &fixture{st: dbtest.New(t)}
	inv := inventory.New(f.st)
	must(t, inv.SeedRegion(ctx, inventory.Region{ID: "r1", Name: "R1"}))
	for _, s := range []api.SKU{
		{Id: "h100-x1", GpuCount: 1, Currency: "USD"},
		{Id: "h100-x2", GpuCount: 2, Currency: "USD"},
		{Id: "h100-eur", GpuCount: 1, Currency: "EUR"},
	} {
		s.Name, s.GpuModel, s.PricePerHourMinor, s.Region, s.Active = "H100", h100, 3600, "r1", true
		must(t, inv.SeedSKU(ctx, s))
	}
	for i := range 8 {
		var gpus []inventory.GPUSpec
		for j := range 8 {
			gpus = append(gpus, inventory.GPUSpec{Index: j, UUID: fmt.Sprintf("GPU-%d-%d", i, j), Model: h100, MemoryMiB: 81559})
		}
		if _, err := inv.SeedNode(ctx, fmt.Sprintf("node-%d", i), "r1", gpus); err != nil {
			t.Fatal(err)
		}
	}
	f.bill = billing.New(f.st, events.Naming{Namespace: "test"}, noRelease{}, nil)
	f.lim = limits.New(f.st, limits.Config{Defaults: def, MinRunway: 10 * time.Minute}, nil)
	f.svc = allocation.New(f.st, allocation.Config{Naming: events.Naming{Namespace: "test"}, MinRunway: 10 * time.Minute,
		LockFunds: f.bill.LockFunds, CheckLimits: f.lim.Check}, nil)
	return f
}

// user creates a user holding USD 1,000.00 and EUR 1,000.00.
func (f *fixture) user(t *testing.T) uuid.UUID {
	t.Helper()
	name := "u" + uuid.NewString()[:8]
	u, err := users.New(f.st).Create(ctx, uuid.Nil, users.CreateParams{Username: name, Email: name + "@example.com",
		Password: "correct horse battery staple", Role: "user"})
	must(t, err)
	for _, c := range []string{"USD", "EUR"} {
		b := billing.New(f.st, events.Naming{Namespace: "test"}, noRelease{}, nil, billing.WithCurrency(c))
		_, err := b.Adjust(ctx, uuid.Nil, u.Id, 100_000, "test credit", "credit-"+c+"-"+u.Id.String())
		must(t, err)
	}
	return u.Id
}

func (f *fixture) create(user uuid.UUID, sku string) error {
	return f.st.InTx(ctx, func(tx *store.Store) error {
		_, err := f.svc.CreateIn(ctx, tx, user, allocation.CreateRequest{SKUID: sku})
		return err
	})
}

func (f *fixture) heldGPUs(t *testing.T, user uuid.UUID) int64 {
	t.Helper()
	var n int64
	must(t, f.st.Pool().QueryRow(ctx, `SELECT COALESCE(SUM(gpu_count), 0) FROM allocations WHERE user_id = $1
		AND status IN ('requested', 'provisioning', 'active')`, user).Scan(&n))
	return n
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ptr(v int64) *int64 { return &v }

// wantQuota checks err is 409 quota_exceeded naming limit and its value.
func wantQuota(t *testing.T, err error, limit string, value int64) {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Code != limits.CodeQuotaExceeded || e.Kind != apperr.KindConflict {
		t.Fatalf("want 409 quota_exceeded, got %v", err)
	}
	if e.Details["limit"] != limit || e.Details["value"] != value {
		t.Fatalf("details %v, want limit %s value %d", e.Details, limit, value)
	}
}

// race runs n creates at once, cycling through skus, and returns how many
// succeeded; every failure must be quota_exceeded.
func (f *fixture) race(t *testing.T, user uuid.UUID, n int, skus ...string) int {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := f.create(user, skus[i%len(skus)])
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case apperr.HasCode(err, limits.CodeQuotaExceeded):
			default:
				t.Errorf("create: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	return ok
}

// Many concurrent creates, in two currencies and of 1 and 2 GPUs, against
// a limit of 5 GPUs: together they never hold more than 5.
func TestConcurrentCreatesNeverExceedGPULimit(t *testing.T) {
	f := newFixture(t, limits.Defaults{})
	u := f.user(t)
	_, err := f.lim.Set(ctx, uuid.Nil, u, api.SpendLimitsRequest{MaxConcurrentGpus: ptr(5)})
	must(t, err)
	ok := f.race(t, u, 24, "h100-x1", "h100-x2", "h100-eur")
	held := f.heldGPUs(t, u)
	if held > 5 {
		t.Fatalf("%d creates succeeded holding %d GPUs, over the limit of 5", ok, held)
	}
	if held < 4 {
		t.Fatalf("only %d GPUs held after 24 creates: the limit refused creates that fit", held)
	}
	wantQuota(t, f.create(u, "h100-x2"), limits.LimitConcurrentGPUs, 5)
}

// The monthly budget must last --min-runway at the total rate, like
// credit: at USD 36.00 an hour each, ten minutes is USD 6.00 per
// allocation, so a budget of USD 30.00 admits exactly five, however
// many race for it.
func TestConcurrentCreatesNeverExceedMonthlyLimit(t *testing.T) {
	f := newFixture(t, limits.Defaults{MaxMonthlySpendMinor: 3000})
	u := f.user(t)
	if ok := f.race(t, u, 20, "h100-x1"); ok != 5 {
		t.Fatalf("%d creates succeeded, want exactly 5 within the monthly limit", ok)
	}
	err := f.create(u, "h100-x1")
	wantQuota(t, err, limits.LimitMonthlySpend, 3000)
	if e, _ := apperr.As(err); e.Details["currency"] != "USD" {
		t.Fatalf("details %v lack the currency", e.Details)
	}
}

// The burn-rate limit counts what runs in the currency; a lower limit
// refuses new creates and stops nothing; null returns to the default.
func TestBurnLimitAndLoweringStopsNothing(t *testing.T) {
	f := newFixture(t, limits.Defaults{MaxConcurrentGPUs: 100})
	u := f.user(t)
	_, err := f.lim.Set(ctx, uuid.Nil, u, api.SpendLimitsRequest{MaxBurnPerHourMinor: ptr(7200)})
	must(t, err)
	must(t, f.create(u, "h100-x1"))
	must(t, f.create(u, "h100-x1"))
	wantQuota(t, f.create(u, "h100-x1"), limits.LimitBurnPerHour, 7200)
	must(t, f.create(u, "h100-eur")) // another currency burns on its own

	got, err := f.lim.Set(ctx, uuid.Nil, u, api.SpendLimitsRequest{MaxConcurrentGpus: ptr(1)})
	must(t, err)
	if held := f.heldGPUs(t, u); held != 3 {
		t.Fatalf("lowering the limit left %d GPUs held, want the 3 running", held)
	}
	if *got.MaxConcurrentGpus != 1 || got.MaxBurnPerHourMinor != nil || got.GpusInUse != 3 || got.Overrides.MaxConcurrentGpus == nil {
		t.Fatalf("limits %+v", got)
	}
	wantQuota(t, f.create(u, "h100-x1"), limits.LimitConcurrentGPUs, 1)

	got, err = f.lim.Set(ctx, uuid.Nil, u, api.SpendLimitsRequest{})
	must(t, err)
	if got.MaxConcurrentGpus == nil || *got.MaxConcurrentGpus != 100 || got.Overrides.MaxConcurrentGpus != nil {
		t.Fatalf("null did not return to the platform default of 100: %+v", got)
	}
	var audited int
	must(t, f.st.Pool().QueryRow(ctx, `SELECT count(*) FROM audit_logs WHERE action = 'billing.limits_set' AND target_id = $1`, u.String()).Scan(&audited))
	if audited != 3 {
		t.Fatalf("%d audit rows, want 3", audited)
	}
}

// Get shows the month's usage charges against the monthly limit.
func TestGetShowsMonthSpend(t *testing.T) {
	f := newFixture(t, limits.Defaults{})
	u := f.user(t)
	l, err := f.lim.Get(ctx, u)
	must(t, err)
	if l.MaxConcurrentGpus != nil || l.MaxMonthlySpendMinor != nil || len(l.Usage) != 2 {
		t.Fatalf("limits %+v: want unlimited, with EUR and USD use", l)
	}
	// A usage debit this month counts; the view is per currency.
	_, err = f.st.Pool().Exec(ctx, `WITH t AS (INSERT INTO ledger_transactions (idempotency_key, kind, user_id) VALUES ('u1', 'usage', $1) RETURNING id)
		INSERT INTO ledger_entries (transaction_id, account_id, amount_minor)
		SELECT t.id, a.id, CASE WHEN a.kind = 'user' THEN -1234 ELSE 1234 END FROM t, ledger_accounts a
		WHERE a.currency = 'USD' AND ((a.kind = 'user' AND a.user_id = $1) OR a.kind = 'revenue')`, u)
	must(t, err)
	l, err = f.lim.Get(ctx, u)
	must(t, err)
	for _, use := range l.Usage {
		want := int64(0)
		if use.Currency == "USD" {
			want = 1234
		}
		if use.MonthSpendMinor != want {
			t.Fatalf("%s month spend %d, want %d", use.Currency, use.MonthSpendMinor, want)
		}
	}
}

// Creates in two currencies take two different account locks; the GPU
// limit still counts them one after another: while a USD create holding
// the last GPU is uncommitted, an EUR create waits for it, then is refused.
func TestGPULimitSerialisesAcrossCurrencies(t *testing.T) {
	f := newFixture(t, limits.Defaults{MaxConcurrentGPUs: 1})
	u := f.user(t)
	created, commit, first := make(chan error, 1), make(chan struct{}), make(chan error, 1)
	go func() {
		first <- f.st.InTx(ctx, func(tx *store.Store) error {
			_, err := f.svc.CreateIn(ctx, tx, u, allocation.CreateRequest{SKUID: "h100-x1"})
			created <- err
			<-commit
			return err
		})
	}()
	must(t, <-created)
	done := make(chan error, 1)
	go func() { done <- f.create(u, "h100-eur") }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		must(t, f.st.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`).Scan(&waiting))
		if waiting == 1 {
			break
		}
		select {
		case err := <-done:
			close(commit)
			t.Fatalf("the EUR create did not wait for the USD one: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			close(commit)
			t.Fatal("the EUR create never waited on the limits lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(commit)
	must(t, <-first)
	wantQuota(t, <-done, limits.LimitConcurrentGPUs, 1)
}
