package billing

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gpuaas/gpuaas/internal/prom"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/ledger"
	"github.com/gpuaas/gpuaas/internal/store"
)

// ConsumerName is the durable consumer (and consumer_applied name) under
// which billing applies allocation events.
const ConsumerName = "billing"

// EventTypes are the events HandleEvent acts on; subscribe the consumer to
// these.
var EventTypes = []string{events.AllocationActive, events.AllocationReleased, events.AllocationFailed}

// ReasonBalanceDepleted is the release reason when credit runs out.
const ReasonBalanceDepleted = "balance_depleted"

// Policy keys and their defaults when the policies row is missing.
const (
	PolicyLowBalanceRunway  = "billing.low_balance_runway_seconds"
	PolicyAutoReleaseRunway = "billing.auto_release_runway_seconds"
	PolicyMeterInterval     = "billing.meter_interval_seconds"

	DefaultLowBalanceRunway  = 1800
	DefaultAutoReleaseRunway = 300
	DefaultMeterInterval     = 60
)

// DefaultWatchInterval is how often the depletion watch runs: well inside
// the 60 s an allocation may run past zero balance.
const DefaultWatchInterval = 5 * time.Second

// Releaser force-releases an allocation; package allocation implements it.
// It must accept an allocation in any non-terminal state.
type Releaser interface {
	ForceRelease(ctx context.Context, allocationID uuid.UUID, reason string) error
}

// Billing meters usage and keeps balances honest.
type Billing struct {
	st            *store.Store
	naming        events.Naming
	rel           Releaser
	now           func() time.Time
	currency      string
	watchInterval time.Duration
	log           *slog.Logger

	debits        prometheus.Counter
	debitedMinor  *prometheus.CounterVec
	forceReleases prometheus.Counter
}

// Option configures New.
type Option func(*Billing)

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(b *Billing) { b.now = now } }

// WithCurrency sets the currency of balances and adjustments (default USD).
// Usage is charged in each allocation's own currency.
func WithCurrency(c string) Option { return func(b *Billing) { b.currency = c } }

// WithWatchInterval sets how often RunMeter runs the depletion watch.
func WithWatchInterval(d time.Duration) Option { return func(b *Billing) { b.watchInterval = d } }

// WithLogger sets the logger for the background loops.
func WithLogger(l *slog.Logger) Option { return func(b *Billing) { b.log = l } }

// New assembles a Billing. reg may be nil (no metrics exposed); registering
// twice on one registry reuses the first collectors.
func New(st *store.Store, naming events.Naming, rel Releaser, reg prometheus.Registerer, opts ...Option) *Billing {
	b := &Billing{
		st: st, naming: naming, rel: rel, now: time.Now, currency: ledger.DefaultCurrency,
		watchInterval: DefaultWatchInterval, log: slog.Default(),
		debits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gpuaas_billing_debits_total", Help: "Usage debits posted to the ledger.",
		}),
		debitedMinor: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gpuaas_billing_debited_minor_total", Help: "Usage debited, in minor units.",
		}, []string{"currency"}),
		forceReleases: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gpuaas_billing_force_releases_total", Help: "Allocations force-released because the balance ran out.",
		}),
	}
	for _, o := range opts {
		o(b)
	}
	if reg != nil {
		b.debits = prom.Register(reg, b.debits)
		b.debitedMinor = prom.Register(reg, b.debitedMinor)
		b.forceReleases = prom.Register(reg, b.forceReleases)
	}
	return b
}

// debit is one usage posting, counted in the metrics once its transaction
// has committed.
type debit struct {
	currency string
	amount   int64 // positive: taken from the user
}

func (b *Billing) count(ds []debit) {
	for _, d := range ds {
		if d.amount > 0 {
			b.debits.Inc()
			b.debitedMinor.WithLabelValues(d.currency).Add(float64(d.amount)) // a metric, not money
		}
	}
}

// policy reads an operator-tunable value, falling back to def when unset
// or not positive.
func (b *Billing) policy(ctx context.Context, key string, def int64) (int64, error) {
	v, err := b.st.GetPolicy(ctx, key)
	if store.IsNoRows(err) || (err == nil && v <= 0) {
		return def, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read policy %s: %w", key, err)
	}
	return v, nil
}
