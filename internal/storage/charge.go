package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/gpuaas/gpuaas/internal/ledger"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Pricing: a region with a price per GiB-month charges each namespace
// once per UTC day, used_bytes × price / (GiB × 30), in exact integer
// arithmetic; the fraction of a minor unit a day does not reach is carried
// to the next (charge_remainder), so a month of days charges what a month
// costs, not each day rounded down to nothing.

// gibMonthDays is the denominator of a day's charge: bytes per GiB times
// days per month.
var gibMonthDays = big.NewInt((1 << 30) * 30)

// ChargeCatchUp is how many past days the charger charges when it has
// been down: a namespace is charged for each of them with its size now.
const ChargeCatchUp = 7

// DayCharge is the exact charge of one day: the whole minor units and the
// remainder to carry, given the remainder carried in.
func DayCharge(usedBytes, pricePerGiBMonth, carried int64) (amount, remainder int64) {
	n := new(big.Int).Mul(big.NewInt(usedBytes), big.NewInt(pricePerGiBMonth))
	n.Add(n, big.NewInt(carried))
	q, r := new(big.Int).QuoRem(n, gibMonthDays, new(big.Int))
	return q.Int64(), r.Int64()
}

// ChargeDay charges every namespace of every priced region for the UTC day
// of day, once (the ledger key storage:<namespace>:<region>:<date> and the
// storage_charges row make a second run post nothing). It returns how many
// namespaces it charged.
func (s *Service) ChargeDay(ctx context.Context, day time.Time) (int, error) {
	day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
	regions := make([]string, 0, len(s.cfg.Prices))
	for r := range s.cfg.Prices {
		regions = append(regions, r)
	}
	slices.Sort(regions)
	n := 0
	var errs []error
	for _, region := range regions {
		price := s.cfg.Prices[region]
		nss, err := s.store.ListStorageToCharge(ctx, db.ListStorageToChargeParams{Region: region, Day: pgDate(day)})
		if err != nil {
			return n, fmt.Errorf("list namespaces to charge: %w", err)
		}
		for _, ns := range nss {
			ok, err := s.chargeOne(ctx, ns, region, day, price)
			if err != nil {
				errs = append(errs, fmt.Errorf("charge %s in %s for %s: %w", ns, region, day.Format(time.DateOnly), err))
				continue
			}
			if ok {
				n++
			}
		}
	}
	return n, errors.Join(errs...)
}

func pgDate(t time.Time) pgtype.Date { return pgtype.Date{Time: t, Valid: true} }

func (s *Service) chargeOne(ctx context.Context, ns, region string, day time.Time, price int64) (bool, error) {
	// A stale figure is summed again first (workloads write into the mount).
	if b := s.backendOf(region); b != nil {
		if row, err := s.store.GetStorageNamespace(ctx, db.GetStorageNamespaceParams{Namespace: ns, Region: region}); err == nil && row.OwnerUserID.Valid {
			if _, err := s.ensure(ctx, target{ns: ns, region: region, owner: row.OwnerUserID.UUID, b: b}); err != nil {
				slog.WarnContext(ctx, "storage charge: rescan failed; charging the last figure", "namespace", ns, "region", region, "err", err)
			}
		}
	}
	charged := false
	err := s.store.InTx(ctx, func(tx *store.Store) error {
		row, err := tx.LockStorageNamespace(ctx, db.LockStorageNamespaceParams{Namespace: ns, Region: region})
		if err != nil {
			return err
		}
		if !row.OwnerUserID.Valid || (row.ChargedThrough.Valid && !row.ChargedThrough.Time.Before(day)) {
			return nil
		}
		amount, rem := DayCharge(row.UsedBytes, price, row.ChargeRemainder)
		rows, err := tx.InsertStorageCharge(ctx, db.InsertStorageChargeParams{Namespace: ns, Region: region, Day: pgDate(day),
			OwnerUserID: row.OwnerUserID.UUID, UsedBytes: row.UsedBytes, PricePerGibMonthMinor: price,
			AmountMinor: amount, Currency: s.currency()})
		if err != nil {
			return fmt.Errorf("record storage charge: %w", err)
		}
		if rows == 0 {
			return nil // charged before
		}
		if _, err := ledger.Post(ctx, tx, ledger.Posting{
			Key:  fmt.Sprintf("storage:%s:%s:%s", ns, region, day.Format(time.DateOnly)),
			Kind: ledger.KindUsage, UserID: row.OwnerUserID.UUID, Currency: s.currency(), Amount: -amount,
			Memo: fmt.Sprintf("storage %s %s: %d bytes at %d per GiB-month", region, day.Format(time.DateOnly), row.UsedBytes, price),
		}); err != nil {
			return err
		}
		charged = true
		return tx.SetStorageCharged(ctx, db.SetStorageChargedParams{Namespace: ns, Region: region, Day: pgDate(day), ChargeRemainder: rem})
	})
	return charged, err
}

func (s *Service) currency() string {
	if s.cfg.Currency != "" {
		return s.cfg.Currency
	}
	return ledger.DefaultCurrency
}

func (s *Service) backendOf(region string) Backend {
	if b := s.cfg.Regions[region]; b != nil {
		return b
	}
	return s.cfg.Default
}

// RunCharger charges the days that ended (UTC), the last ChargeCatchUp of
// them, every hour until ctx ends. Nothing to do without a priced region.
func (s *Service) RunCharger(ctx context.Context) error {
	if len(s.cfg.Prices) == 0 {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		today := time.Now().UTC()
		for i := ChargeCatchUp; i >= 1; i-- {
			if _, err := s.ChargeDay(ctx, today.AddDate(0, 0, -i)); err != nil && ctx.Err() == nil {
				slog.ErrorContext(ctx, "storage charge", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
