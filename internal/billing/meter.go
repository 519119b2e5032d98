package billing

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/ledger"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// MeterOnce posts interim debits for every open window up to now. Each
// window is claimed in its own short transaction with SKIP LOCKED, so
// replicas split the work and a window being closed is not waited for.
// Running it twice for the same instant posts nothing the second time.
func (b *Billing) MeterOnce(ctx context.Context, now time.Time) error {
	now = dbTime(now)
	for {
		claimed := false
		var ds []debit
		err := b.st.InTx(ctx, func(tx *store.Store) error {
			rec, err := tx.ClaimUsageToMeter(ctx, now)
			if store.IsNoRows(err) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("claim usage window: %w", err)
			}
			claimed = true
			ds, err = b.meterRecord(ctx, tx, rec, now)
			return err
		})
		if err != nil {
			return fmt.Errorf("meter usage: %w", err)
		}
		b.count(ds)
		if !claimed {
			return nil
		}
	}
}

// account is one user's running usage in one currency.
type account struct {
	userID   uuid.UUID
	currency string
	records  []db.UsageRecord
}

// accrued sums, at now, what the records have cost and not yet been
// debited, and their hourly burn.
func accrued(recs []db.UsageRecord, now time.Time) (unbilled, burn int64) {
	for _, r := range recs {
		if due := Charge(Billable(r, now), r.PricePerHourMinor) - r.ChargedMinor; due > 0 {
			unbilled += due
		}
		if r.PausedAt == nil {
			burn += r.PricePerHourMinor
		}
	}
	return unbilled, burn
}

// runway is how many seconds projected lasts at burn per hour; nil when
// nothing burns.
func runway(projected, burn int64) *int64 {
	if burn <= 0 {
		return nil
	}
	var s int64
	switch {
	case projected <= 0:
	case projected > math.MaxInt64/3600:
		s = projected / burn * 3600
	default:
		s = projected * 3600 / burn
	}
	return &s
}

// WatchOnce checks, at now, every user who has running usage: runway under
// the low-balance threshold fires billing.low_balance, under the
// auto-release threshold billing.auto_release_pending (each once per
// crossing, re-armed when the runway recovers), and a projected balance at
// or below zero debits what is due, fires billing.balance_depleted and
// force-releases the user's allocations. Errors for one user do not stop
// the others.
func (b *Billing) WatchOnce(ctx context.Context, now time.Time) error {
	now = dbTime(now)
	recs, err := b.st.ListOpenUsage(ctx, db.ListOpenUsageParams{})
	if err != nil {
		return fmt.Errorf("list open usage: %w", err)
	}
	low, err := b.policy(ctx, PolicyLowBalanceRunway, DefaultLowBalanceRunway)
	if err != nil {
		return err
	}
	auto, err := b.policy(ctx, PolicyAutoReleaseRunway, DefaultAutoReleaseRunway)
	if err != nil {
		return err
	}
	var errs []error
	for _, acct := range groupByAccount(recs) {
		if err := b.watchAccount(ctx, acct, now, low, auto); err != nil {
			errs = append(errs, fmt.Errorf("watch balance of user %s: %w", acct.userID, err))
		}
	}
	return errors.Join(errs...)
}

// groupByAccount splits records ordered by (user, currency).
func groupByAccount(recs []db.UsageRecord) []account {
	var out []account
	for _, r := range recs {
		if n := len(out); n > 0 && out[n-1].userID == r.UserID && out[n-1].currency == r.Currency {
			out[n-1].records = append(out[n-1].records, r)
			continue
		}
		out = append(out, account{userID: r.UserID, currency: r.Currency, records: []db.UsageRecord{r}})
	}
	return out
}

func (b *Billing) watchAccount(ctx context.Context, acct account, now time.Time, low, auto int64) error {
	bal, err := ledger.Balance(ctx, b.st.Queries, acct.userID, acct.currency)
	if err != nil {
		return err
	}
	unbilled, burn := accrued(acct.records, now)
	if bal-unbilled <= 0 {
		return b.deplete(ctx, acct.userID, acct.currency, now, low, auto)
	}
	rw := runway(bal-unbilled, burn)
	if rw == nil {
		return nil
	}
	return b.st.InTx(ctx, func(tx *store.Store) error {
		return b.alerts(ctx, tx, acct.userID, acct.currency, bal-unbilled, *rw, now, low, auto)
	})
}

// alertKinds pairs each event with the balance_alerts kind that remembers
// it fired. The currency is in the kind so currencies cross separately.
func alertKind(typ, currency string) string { return typ + ":" + currency }

// alerts fires or re-arms each threshold's alert for one user.
func (b *Billing) alerts(ctx context.Context, tx *store.Store, userID uuid.UUID, currency string, projected, rw int64, now time.Time, low, auto int64) error {
	for _, a := range []struct {
		typ   string
		under bool
	}{
		{events.BillingLowBalance, rw < low},
		{events.BillingAutoReleasePending, rw < auto},
		{events.BillingBalanceDepleted, projected <= 0},
	} {
		kind := alertKind(a.typ, currency)
		if !a.under {
			if err := tx.ClearBalanceAlert(ctx, db.ClearBalanceAlertParams{UserID: userID, Kind: kind}); err != nil {
				return fmt.Errorf("re-arm %s alert: %w", a.typ, err)
			}
			continue
		}
		n, err := tx.FireBalanceAlert(ctx, db.FireBalanceAlertParams{UserID: userID, Kind: kind, FiredAt: now})
		if err != nil {
			return fmt.Errorf("record %s alert: %w", a.typ, err)
		}
		if n == 0 {
			continue // fired already for this crossing
		}
		r := rw
		payload := events.Balance{UserID: userID, BalanceMinor: projected, Currency: currency, RunwaySeconds: &r, At: now}
		if _, err := events.Enqueue(ctx, tx, b.naming, a.typ, payload); err != nil {
			return err
		}
	}
	return nil
}

// deplete handles a user whose projected balance reached zero. Under the
// locks of the user's windows and account it debits what is due and looks
// again (a credit may have just landed); still at or below zero, it fires
// the alerts and, after commit, force-releases everything the user runs.
func (b *Billing) deplete(ctx context.Context, userID uuid.UUID, currency string, now time.Time, low, auto int64) error {
	var release []uuid.UUID
	var ds []debit
	err := b.st.InTx(ctx, func(tx *store.Store) error {
		release, ds = nil, nil
		recs, err := tx.LockUserOpenUsage(ctx, db.LockUserOpenUsageParams{UserID: userID, Currency: currency})
		if err != nil {
			return fmt.Errorf("lock usage windows: %w", err)
		}
		var burn int64
		for _, rec := range recs {
			d, err := b.meterRecord(ctx, tx, rec, now)
			if err != nil {
				return err
			}
			ds = append(ds, d...)
			if rec.PausedAt == nil {
				burn += rec.PricePerHourMinor
			}
		}
		bal, err := ledger.LockBalance(ctx, tx, userID, currency)
		if err != nil {
			return err
		}
		rw := runway(bal, burn)
		if rw == nil {
			return nil // the windows closed meanwhile: nothing runs
		}
		if err := b.alerts(ctx, tx, userID, currency, bal, *rw, now, low, auto); err != nil {
			return err
		}
		if bal > 0 {
			return nil
		}
		release, err = tx.ListRunningAllocations(ctx, db.ListRunningAllocationsParams{UserID: userID, Currency: currency})
		if err != nil {
			return fmt.Errorf("list allocations to release: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("settle depleted balance: %w", err)
	}
	b.count(ds)
	var errs []error
	for _, id := range release {
		if err := b.rel.ForceRelease(ctx, id, ReasonBalanceDepleted); err != nil {
			// The next watch finds it still running and tries again.
			errs = append(errs, fmt.Errorf("force-release allocation %s: %w", id, err))
			continue
		}
		b.forceReleases.Inc()
	}
	return errors.Join(errs...)
}

// RunMeter meters every billing.meter_interval_seconds (re-read each time)
// and watches balances every watch interval, until ctx ends. Errors are
// logged; the next tick tries again.
func (b *Billing) RunMeter(ctx context.Context) error {
	meterEvery := func() time.Duration {
		s, err := b.policy(ctx, PolicyMeterInterval, DefaultMeterInterval)
		if err != nil {
			b.log.Warn("billing: read meter interval", "err", err)
			s = DefaultMeterInterval
		}
		return time.Duration(s) * time.Second
	}
	meter := time.NewTimer(meterEvery())
	defer meter.Stop()
	watch := time.NewTicker(b.watchInterval)
	defer watch.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-meter.C:
			if err := b.MeterOnce(ctx, b.now()); err != nil && ctx.Err() == nil {
				b.log.Error("billing: meter", "err", err)
			}
			meter.Reset(meterEvery())
		case <-watch.C:
		}
		if err := b.WatchOnce(ctx, b.now()); err != nil && ctx.Err() == nil {
			b.log.Error("billing: watch balances", "err", err)
		}
	}
}
