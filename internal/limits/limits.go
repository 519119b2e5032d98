package limits

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/ledger"
	"github.com/gpuaas/gpuaas/internal/money"
	"github.com/gpuaas/gpuaas/internal/prom"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// CodeQuotaExceeded is the 409 of a create that would break a limit.
const CodeQuotaExceeded = "quota_exceeded"

// Names of the limits, as the API and the error's details.limit say them.
const (
	LimitConcurrentGPUs = "max_concurrent_gpus"
	LimitMonthlySpend   = "max_monthly_spend_minor"
	LimitBurnPerHour    = "max_burn_per_hour_minor"
)

// Defaults are the platform's limits for users an admin has not given
// their own; 0 is unlimited.
type Defaults struct {
	MaxConcurrentGPUs    int64
	MaxMonthlySpendMinor int64
	MaxBurnPerHourMinor  int64
}

// Config tunes the service.
type Config struct {
	Defaults Defaults
	// MinRunway is the create's funds rule (allocation.Config.MinRunway):
	// what is left of the month's budget must last as long at the total
	// burn rate with the new allocation.
	MinRunway time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service reads, sets and checks limits.
type Service struct {
	st      *store.Store
	cfg     Config
	refused *prometheus.CounterVec
}

// New returns a Service; metrics go to reg (may be nil).
func New(st *store.Store, cfg Config, reg prometheus.Registerer) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{st: st, cfg: cfg, refused: prom.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gpuaas_limits_refused_total", Help: "Allocation creates refused by a spend limit, by limit.",
	}, []string{"limit"}))}
}

// Limits are the limits in force for one user; nil is unlimited.
type Limits struct {
	GPUs, MonthlySpend, BurnPerHour *int64
}

func (l Limits) any() bool { return l.GPUs != nil || l.MonthlySpend != nil || l.BurnPerHour != nil }

func orDefault(v *int64, def int64) *int64 {
	if v != nil {
		return v
	}
	if def > 0 {
		return &def
	}
	return nil
}

// overrides reads the account's own row (a person's or a team's); missing is
// all defaults.
func overrides(ctx context.Context, q *db.Queries, userID uuid.UUID) (db.SpendLimit, error) {
	row, err := q.GetUserSpendLimits(ctx, userID)
	if store.IsNoRows(err) {
		return db.SpendLimit{}, nil
	}
	if err != nil {
		return db.SpendLimit{}, fmt.Errorf("read spend limits: %w", err)
	}
	return row, nil
}

func (s *Service) effective(row db.SpendLimit) Limits {
	d := s.cfg.Defaults
	return Limits{
		GPUs:         orDefault(row.MaxConcurrentGpus, d.MaxConcurrentGPUs),
		MonthlySpend: orDefault(row.MaxMonthlySpendMinor, d.MaxMonthlySpendMinor),
		BurnPerHour:  orDefault(row.MaxBurnPerHourMinor, d.MaxBurnPerHourMinor),
	}
}

// MonthStart is the start of t's calendar month in UTC.
func MonthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// Check is the lifecycle's allocation.LimitChecker: read reads userID's
// limits (sent with the create's first reads), and check refuses, with 409
// quota_exceeded, a create of sku that would break one of them. check runs
// in the create's transaction tx after the funds check has locked the
// user's account in sku's currency; with a GPU limit it also takes a
// per-user lock, so creates in other currencies are counted too. placed,
// when not nil, is the create's own allocation, already placed in tx (see
// package allocation's early placement): it is not counted as running.
func (s *Service) Check(ctx context.Context, userID uuid.UUID) (read func(q *db.Queries) error, check func(tx *store.Store, sku db.Sku, placed uuid.UUID) error) {
	var row db.SpendLimit
	var readErr error
	read = func(q *db.Queries) error {
		row, readErr = overrides(ctx, q, userID)
		return nil
	}
	check = func(tx *store.Store, sku db.Sku, placed uuid.UUID) error {
		if readErr != nil {
			return readErr
		}
		return s.check(ctx, tx, userID, sku, placed, row)
	}
	return read, check
}

// check is Check's second step, with the user's own limits row.
func (s *Service) check(ctx context.Context, tx *store.Store, userID uuid.UUID, sku db.Sku, placed uuid.UUID, row db.SpendLimit) error {
	lim := s.effective(row)
	if !lim.any() {
		return nil
	}
	if err := tx.LockUserLimits(ctx, userID); err != nil {
		return fmt.Errorf("lock spend limits: %w", err)
	}
	now := s.cfg.Now().UTC().Truncate(time.Microsecond)
	use, err := tx.LimitUse(ctx, db.LimitUseParams{UserID: userID, Currency: sku.Currency, MonthStart: MonthStart(now), Now: now,
		Exclude: uuid.NullUUID{UUID: placed, Valid: placed != uuid.Nil}})
	if err != nil {
		return fmt.Errorf("read limit use: %w", err)
	}
	if lim.GPUs != nil && use.Gpus+int64(sku.GpuCount) > *lim.GPUs {
		return s.refuse(LimitConcurrentGPUs, *lim.GPUs, use.Gpus, int64(sku.GpuCount), "",
			fmt.Sprintf("this create would hold %d GPUs at once; your limit max_concurrent_gpus is %d (%d held now)",
				use.Gpus+int64(sku.GpuCount), *lim.GPUs, use.Gpus))
	}
	burn := use.BurnPerHour + sku.PricePerHourMinor
	if lim.BurnPerHour != nil && burn > *lim.BurnPerHour {
		return s.refuse(LimitBurnPerHour, *lim.BurnPerHour, use.BurnPerHour, sku.PricePerHourMinor, sku.Currency,
			fmt.Sprintf("this create would burn %s an hour; your limit max_burn_per_hour_minor is %s an hour",
				money.Format(burn, sku.Currency), money.Format(*lim.BurnPerHour, sku.Currency)))
	}
	if lim.MonthlySpend != nil {
		spent := use.MonthPosted + use.UnbilledBound
		need := runwayCharge(burn, s.cfg.MinRunway)
		if left := *lim.MonthlySpend - spent; left <= 0 || left < need {
			return s.refuse(LimitMonthlySpend, *lim.MonthlySpend, spent, need, sku.Currency,
				fmt.Sprintf("your limit max_monthly_spend_minor is %s this month and %s is spent; running for %s at %s an hour needs %s more",
					money.Format(*lim.MonthlySpend, sku.Currency), money.Format(spent, sku.Currency), s.cfg.MinRunway,
					money.Format(burn, sku.Currency), money.Format(need, sku.Currency)))
		}
	}
	return nil
}

// runwayCharge is ceil(pricePerHour × runway / 1h) in minor units (the
// funds check's own rule).
func runwayCharge(pricePerHour int64, runway time.Duration) int64 {
	secs := int64((runway + time.Second - 1) / time.Second)
	return (pricePerHour*secs + 3599) / 3600
}

func (s *Service) refuse(limit string, value, used, requested int64, currency, msg string) error {
	s.refused.WithLabelValues(limit).Inc()
	d := map[string]any{"limit": limit, "value": value, "used": used, "requested": requested}
	if currency != "" {
		d["currency"] = currency
	}
	return &apperr.Error{Kind: apperr.KindConflict, Code: CodeQuotaExceeded, Message: msg, Details: d}
}

// Get is userID's limits in force, the admin's values behind them and
// their use now.
func (s *Service) Get(ctx context.Context, userID uuid.UUID) (api.SpendLimits, error) {
	row, err := overrides(ctx, s.st.Queries, userID)
	if err != nil {
		return api.SpendLimits{}, err
	}
	return s.view(ctx, s.st.Queries, userID, row)
}

func (s *Service) view(ctx context.Context, q *db.Queries, userID uuid.UUID, row db.SpendLimit) (api.SpendLimits, error) {
	lim := s.effective(row)
	now := s.cfg.Now().UTC().Truncate(time.Microsecond)
	out := api.SpendLimits{
		MaxConcurrentGpus: lim.GPUs, MaxMonthlySpendMinor: lim.MonthlySpend, MaxBurnPerHourMinor: lim.BurnPerHour,
		Overrides: api.SpendLimitsRequest{MaxConcurrentGpus: row.MaxConcurrentGpus,
			MaxMonthlySpendMinor: row.MaxMonthlySpendMinor, MaxBurnPerHourMinor: row.MaxBurnPerHourMinor},
		MonthStart: MonthStart(now),
		Usage:      []api.SpendLimitUsage{},
	}
	currencies, err := q.UserCurrencies(ctx, userID)
	if err != nil {
		return out, fmt.Errorf("read currencies: %w", err)
	}
	if len(currencies) == 0 {
		currencies = []string{ledger.DefaultCurrency}
	}
	for _, c := range currencies {
		use, err := q.LimitUse(ctx, db.LimitUseParams{UserID: userID, Currency: c, MonthStart: out.MonthStart, Now: now})
		if err != nil {
			return out, fmt.Errorf("read limit use: %w", err)
		}
		out.GpusInUse = use.Gpus
		out.Usage = append(out.Usage, api.SpendLimitUsage{Currency: c,
			MonthSpendMinor: use.MonthPosted + use.UnbilledBound, BurnPerHourMinor: use.BurnPerHour})
	}
	return out, nil
}

// Set replaces userID's limits (nil: the platform default), audited as
// actor's billing.limits_set. Nothing running is stopped.
func (s *Service) Set(ctx context.Context, actor, userID uuid.UUID, req api.SpendLimitsRequest) (api.SpendLimits, error) {
	for name, v := range map[string]*int64{LimitConcurrentGPUs: req.MaxConcurrentGpus,
		LimitMonthlySpend: req.MaxMonthlySpendMinor, LimitBurnPerHour: req.MaxBurnPerHourMinor} {
		if v != nil && *v < 0 {
			return api.SpendLimits{}, apperr.Invalid("%s must not be negative", name)
		}
	}
	var out api.SpendLimits
	err := s.st.InTx(ctx, func(tx *store.Store) error {
		before, err := overrides(ctx, tx.Queries, userID)
		if err != nil {
			return err
		}
		row, err := tx.UpsertUserSpendLimits(ctx, db.UpsertUserSpendLimitsParams{
			UserID: userID, MaxConcurrentGpus: req.MaxConcurrentGpus,
			MaxMonthlySpendMinor: req.MaxMonthlySpendMinor, MaxBurnPerHourMinor: req.MaxBurnPerHourMinor,
			UpdatedBy: uuid.NullUUID{UUID: actor, Valid: actor != uuid.Nil},
		})
		if err != nil {
			return fmt.Errorf("set spend limits: %w", err)
		}
		if err := audit.Record(ctx, tx.Queries, audit.Entry{Actor: actor, Action: audit.ActionBillingLimitsSet,
			TargetType: "user", TargetID: userID.String(),
			Metadata: map[string]any{"user_id": userID.String(),
				LimitConcurrentGPUs: row.MaxConcurrentGpus, LimitMonthlySpend: row.MaxMonthlySpendMinor, LimitBurnPerHour: row.MaxBurnPerHourMinor,
				"from": map[string]any{LimitConcurrentGPUs: before.MaxConcurrentGpus, LimitMonthlySpend: before.MaxMonthlySpendMinor,
					LimitBurnPerHour: before.MaxBurnPerHourMinor}}}); err != nil {
			return err
		}
		out, err = s.view(ctx, tx.Queries, userID, row)
		return err
	})
	return out, err
}
