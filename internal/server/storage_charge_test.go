package server_test

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/billing"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/storage"
	"github.com/gpuaas/gpuaas/internal/store/db"
	"github.com/gpuaas/gpuaas/sdk"
)

// A priced region charges each namespace once a day through the ledger,
// in exact minor units.
func TestStorageChargedDaily(t *testing.T) {
	t.Parallel()
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

// TestStorageChargesInBillingReads posts a day's storage charge and reads
// it back, in exact minor units with its currency, in the storage charges
// list (paged) and as a storage row of the usage CSV.
func TestStorageChargesInBillingReads(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "storage.yaml")
	body := "regions:\n  p1: {backend: fs, path: " + filepath.Join(dir, "p1") + ", price_per_gib_month_minor: 7}\n"
	if err := os.WriteFile(cfgFile, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	se := startStorage(t, false, func(c *config.Server) { c.StorageConfig = cfgFile })
	se.Fund(t, 10_000)
	s := se.storer(t, "user", "p1")
	want(t, s.upload("data.bin", []byte("x")), 201, "")
	c := se.Client(s.token)

	ctx := context.Background()
	ns := storage.UserNamespace(uuidOf(t, s.userID))
	// 30 GiB at 0.07 a GiB-month: exactly 7 minor units a day.
	if _, err := se.App.Store.SetStorageUsed(ctx, db.SetStorageUsedParams{Namespace: ns, Region: "p1", UsedBytes: 30 << 30}); err != nil {
		t.Fatal(err)
	}
	day1 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	day2 := day1.AddDate(0, 0, 1)
	if _, err := se.App.Store.Pool().Exec(ctx, `UPDATE storage_namespaces SET created_at = $1 WHERE namespace = $2`, day1.AddDate(0, 0, -1), ns); err != nil {
		t.Fatal(err)
	}
	for _, d := range []time.Time{day1, day2} {
		if n, err := se.App.Storage.ChargeDay(ctx, d); err != nil || n != 1 {
			t.Fatalf("charge %s: %d %v", d, n, err)
		}
	}

	// Newest day first, one a page.
	p1, err := c.ListStorageCharges(ctx, api.ListStorageChargesParams{PageSize: sdk.Ptr(1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(p1.Items) != 1 || p1.NextCursor == "" {
		t.Fatalf("first page %+v", p1)
	}
	got := p1.Items[0]
	if got.Day.Format(time.DateOnly) != "2026-03-02" || got.Region != "p1" || got.Namespace != ns ||
		got.UsedBytes != 30<<30 || got.PricePerGibMonthMinor != 7 || got.AmountMinor != 7 || got.Currency != "USD" {
		t.Fatalf("newest charge %+v", got)
	}
	p2, err := c.ListStorageCharges(ctx, api.ListStorageChargesParams{PageSize: sdk.Ptr(1), Cursor: &p1.NextCursor})
	if err != nil || len(p2.Items) != 1 || p2.Items[0].Day.Format(time.DateOnly) != "2026-03-01" || p2.Items[0].AmountMinor != 7 {
		t.Fatalf("second page %+v %v", p2, err)
	}
	// since/until select the days that overlap the range.
	since, until := day2, day2.Add(time.Hour)
	r, err := c.ListStorageCharges(ctx, api.ListStorageChargesParams{Since: &since, Until: &until})
	if err != nil || len(r.Items) != 1 || r.Items[0].Day.Format(time.DateOnly) != "2026-03-02" {
		t.Fatalf("range %+v %v", r, err)
	}

	var out strings.Builder
	if _, err := c.ExportUsageCSV(ctx, api.ExportUsageCSVParams{}, &out); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(out.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	wantRows := [][]string{
		billing.UsageCSVHeader,
		{"", "", "2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z", "86400", "7", "USD", "storage", "p1", "2026-03-02", "32212254720"},
		{"", "", "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z", "86400", "7", "USD", "storage", "p1", "2026-03-01", "32212254720"},
	}
	if !reflect.DeepEqual(rows, wantRows) {
		t.Fatalf("csv\n%q\nwant\n%q", rows, wantRows)
	}
	if rows[0][6] != "currency" || rows[0][0] != "allocation_id" {
		t.Fatalf("the first seven columns moved: %q", rows[0])
	}
}
