package server_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/storage"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// A priced region charges each namespace once a day through the ledger,
// in exact minor units.
func TestStorageChargedDaily(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "storage.yaml")
	body := "regions:\n  p1: {backend: fs, path: " + filepath.Join(dir, "p1") + ", price_per_gib_month_minor: 300}\n"
	if err := os.WriteFile(cfgFile, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	se := startStorage(t, false, func(c *config.Server) { c.StorageConfig = cfgFile })
	se.Fund(t, 10_000)
	s := se.storer(t, "user", "p1")
	want(t, s.upload("data.bin", []byte("x")), 201, "")
	free := se.storer(t, "user", "r1") // an unpriced region
	want(t, free.upload("data.bin", []byte("x")), 201, "")

	ctx := context.Background()
	ns := storage.UserNamespace(uuidOf(t, s.userID))
	// 10 GiB as last summed (the scan is fresh, so it stands): 1.00 a day.
	if _, err := se.App.Store.SetStorageUsed(ctx, db.SetStorageUsedParams{Namespace: ns, Region: "p1", UsedBytes: 10 << 30}); err != nil {
		t.Fatal(err)
	}
	today := time.Now().UTC()
	for range 2 {
		n, err := se.App.Storage.ChargeDay(ctx, today)
		if err != nil {
			t.Fatal(err)
		}
		_ = n
	}
	bal, err := se.App.Billing.Balance(ctx, uuidOf(t, s.userID))
	if err != nil {
		t.Fatal(err)
	}
	if bal.BalanceMinor != 10_000-100 {
		t.Fatalf("balance after a day of 10 GiB at 3.00/GiB-month: %d, want %d", bal.BalanceMinor, 10_000-100)
	}
	if bal, _ := se.App.Billing.Balance(ctx, uuidOf(t, free.userID)); bal.BalanceMinor != 10_000 {
		t.Fatalf("an unpriced region charged: %d", bal.BalanceMinor)
	}
	if _, err := se.App.Storage.ChargeDay(ctx, today.AddDate(0, 0, 1)); err != nil {
		t.Fatal(err)
	}
	charges, err := se.App.Store.ListStorageCharges(ctx, uuidOf(t, s.userID))
	if err != nil {
		t.Fatal(err)
	}
	if len(charges) != 2 || charges[0].AmountMinor != 100 || charges[1].AmountMinor != 100 || charges[0].UsedBytes != 10<<30 {
		t.Fatalf("charges %+v", charges)
	}
	if bal, _ := se.App.Billing.Balance(ctx, uuidOf(t, s.userID)); bal.BalanceMinor != 10_000-200 {
		t.Fatalf("balance after two days: %d", bal.BalanceMinor)
	}
}
