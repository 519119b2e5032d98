package billing

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/ledger"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Balance is the user's balance in the deployment currency, with what their
// running allocations have accrued and not yet been debited, the burn rate
// and the runway left.
func (b *Billing) Balance(ctx context.Context, userID uuid.UUID) (api.BalanceResponse, error) {
	return b.balance(ctx, b.st.Queries, userID, b.now())
}

// UserBalance is Balance for an admin looking at userID: the same view the
// user has of their own balance, or not found when there is no such user
// (a user with no ledger entries yet has a zero balance, not a 404).
func (b *Billing) UserBalance(ctx context.Context, userID uuid.UUID) (api.BalanceResponse, error) {
	exists, err := b.st.BillingUserExists(ctx, userID)
	if err != nil {
		return api.BalanceResponse{}, fmt.Errorf("look up user: %w", err)
	}
	if !exists {
		return api.BalanceResponse{}, apperr.NotFound("user")
	}
	return b.Balance(ctx, userID)
}

func (b *Billing) balance(ctx context.Context, q *db.Queries, userID uuid.UUID, now time.Time) (api.BalanceResponse, error) {
	bal, err := ledger.Balance(ctx, q, userID, b.currency)
	if err != nil {
		return api.BalanceResponse{}, fmt.Errorf("read balance: %w", err)
	}
	recs, err := q.ListOpenUsage(ctx, db.ListOpenUsageParams{UserID: uuid.NullUUID{UUID: userID, Valid: true}, Currency: &b.currency})
	if err != nil {
		return api.BalanceResponse{}, fmt.Errorf("read running usage: %w", err)
	}
	unbilled, burn := accrued(recs, dbTime(now))
	return api.BalanceResponse{
		UserId: userID, BalanceMinor: bal, Currency: b.currency, UnbilledMinor: unbilled,
		BurnRatePerHourMinor: burn, RunwaySeconds: runway(bal-unbilled, burn),
	}, nil
}

// Filter narrows ListUsage and ExportUsageCSV. Zero fields match everything.
type Filter struct {
	AllocationID uuid.UUID
	Since        *time.Time // windows still running at or ending after Since
	Until        *time.Time // windows started before Until
}

// Cursor is the position after the last item of a page.
type Cursor struct {
	StartedAt    time.Time `json:"s"`
	AllocationID uuid.UUID `json:"a"`
}

func (f Filter) params(userID uuid.UUID, after *Cursor, limit int) db.ListUsageParams {
	p := db.ListUsageParams{UserID: userID, Since: f.Since, Until: f.Until, PageLimit: int32(limit)}
	if f.AllocationID != uuid.Nil {
		p.AllocationID = uuid.NullUUID{UUID: f.AllocationID, Valid: true}
	}
	if after != nil {
		p.CursorStartedAt = &after.StartedAt
		p.CursorAllocationID = uuid.NullUUID{UUID: after.AllocationID, Valid: true}
	}
	return p
}

// ListUsage returns up to limit of the user's windows after the cursor
// (nil for the newest), newest first, and the cursor of the next page (nil
// at the end).
func (b *Billing) ListUsage(ctx context.Context, userID uuid.UUID, f Filter, after *Cursor, limit int) ([]api.UsageRecord, *Cursor, error) {
	now := b.now()
	rows, err := b.st.ListUsage(ctx, f.params(userID, after, limit+1))
	if err != nil {
		return nil, nil, fmt.Errorf("list usage: %w", err)
	}
	var next *Cursor
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[len(rows)-1]
		next = &Cursor{StartedAt: last.StartedAt, AllocationID: last.AllocationID}
	}
	out := make([]api.UsageRecord, len(rows))
	for i, r := range rows {
		out[i] = usageItem(r, now)
	}
	return out, next, nil
}

// usageItem renders a window: a closed one as charged, an open one with
// its seconds and amount so far.
func usageItem(r db.UsageRecord, now time.Time) api.UsageRecord {
	it := api.UsageRecord{
		AllocationId: r.AllocationID, SkuId: r.SkuID, StartedAt: r.StartedAt, EndedAt: r.EndedAt,
		Seconds: r.ChargedSeconds, AmountMinor: r.ChargedMinor, Currency: r.Currency,
	}
	if r.EndedAt == nil {
		if s := Billable(r, dbTime(now)); s > it.Seconds {
			it.Seconds = s
			it.AmountMinor = max(Charge(s, r.PricePerHourMinor), r.ChargedMinor)
		}
	}
	return it
}

// exportPage is how many rows ExportUsageCSV reads per query; it streams,
// so memory stays flat however long the history.
const exportPage = 500

// UsageCSVHeader is the first row of a usage export. The columns after
// currency were added for storage charges; the first seven keep their
// order, so a reader of the old export reads the windows as before.
var UsageCSVHeader = []string{"allocation_id", "sku_id", "started_at", "ended_at", "seconds", "amount_minor", "currency",
	"kind", "region", "day", "used_bytes"}

// Kinds of usage CSV row.
const (
	UsageKindGPU     = "gpu"
	UsageKindStorage = "storage"
)

// StorageCursor is the position after the last storage charge of a page.
type StorageCursor struct {
	Day       string `json:"d"` // YYYY-MM-DD
	Region    string `json:"r"`
	Namespace string `json:"n"`
}

// ListStorageCharges returns up to limit of the user's daily storage
// charges after the cursor (nil for the newest day), newest day first,
// whose UTC day overlaps [f.Since, f.Until), and the cursor of the next
// page (nil at the end). f.AllocationID does not apply: storage belongs
// to its owner, not to an allocation.
func (b *Billing) ListStorageCharges(ctx context.Context, userID uuid.UUID, f Filter, after *StorageCursor, limit int) ([]api.StorageCharge, *StorageCursor, error) {
	p := db.ListStorageChargesPageParams{OwnerUserID: userID, Since: f.Since, Until: f.Until, PageLimit: int32(limit + 1)}
	if after != nil {
		d, err := time.Parse(time.DateOnly, after.Day)
		if err != nil {
			return nil, nil, apperr.Invalid("cursor: not a cursor of this list")
		}
		p.CursorDay = pgtype.Date{Time: d, Valid: true}
		p.CursorRegion, p.CursorNamespace = &after.Region, &after.Namespace
	}
	rows, err := b.st.ListStorageChargesPage(ctx, p)
	if err != nil {
		return nil, nil, fmt.Errorf("list storage charges: %w", err)
	}
	var next *StorageCursor
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[len(rows)-1]
		next = &StorageCursor{Day: last.Day.Time.Format(time.DateOnly), Region: last.Region, Namespace: last.Namespace}
	}
	out := make([]api.StorageCharge, len(rows))
	for i, r := range rows {
		out[i] = api.StorageCharge{Namespace: r.Namespace, Region: r.Region, Day: openapi_types.Date{Time: r.Day.Time},
			UsedBytes: r.UsedBytes, PricePerGibMonthMinor: r.PricePerGibMonthMinor, AmountMinor: r.AmountMinor, Currency: r.Currency}
	}
	return out, next, nil
}

// ExportUsageCSV streams the user's matching windows to w as CSV, newest
// first, with a header row, then (unless f names an allocation) the daily
// storage charges of the same range, newest day first, flushing w (when
// it can) after each page.
func (b *Billing) ExportUsageCSV(ctx context.Context, userID uuid.UUID, f Filter, w io.Writer) error {
	flusher, _ := w.(interface{ Flush() })
	cw := csv.NewWriter(w)
	if err := cw.Write(UsageCSVHeader); err != nil {
		return fmt.Errorf("write usage csv: %w", err)
	}
	flush := func() error {
		cw.Flush()
		if err := cw.Error(); err != nil {
			return fmt.Errorf("write usage csv: %w", err)
		}
		if flusher != nil {
			flusher.Flush()
		}
		return nil
	}
	var after *Cursor
	for {
		items, next, err := b.ListUsage(ctx, userID, f, after, exportPage)
		if err != nil {
			return err
		}
		for _, it := range items {
			if err := writeCSVRow(cw, windowRow(it)); err != nil {
				return err
			}
		}
		if err := flush(); err != nil {
			return err
		}
		if next == nil {
			break
		}
		after = next
	}
	if f.AllocationID != uuid.Nil {
		return nil
	}
	var afterCharge *StorageCursor
	for {
		items, next, err := b.ListStorageCharges(ctx, userID, f, afterCharge, exportPage)
		if err != nil {
			return err
		}
		for _, it := range items {
			if err := writeCSVRow(cw, storageRow(it)); err != nil {
				return err
			}
		}
		if err := flush(); err != nil {
			return err
		}
		if next == nil {
			return nil
		}
		afterCharge = next
	}
}

// windowRow is a usage window as a CSV row (kind gpu).
func windowRow(it api.UsageRecord) []string {
	ended := ""
	if it.EndedAt != nil {
		ended = it.EndedAt.UTC().Format(time.RFC3339Nano)
	}
	return []string{it.AllocationId.String(), it.SkuId, it.StartedAt.UTC().Format(time.RFC3339Nano), ended,
		strconv.FormatInt(it.Seconds, 10), strconv.FormatInt(it.AmountMinor, 10), it.Currency,
		UsageKindGPU, "", "", ""}
}

// storageRow is a day's storage charge as a CSV row (kind storage): the
// day's UTC bounds as started_at and ended_at, a day's seconds.
func storageRow(it api.StorageCharge) []string {
	day := time.Date(it.Day.Year(), it.Day.Month(), it.Day.Day(), 0, 0, 0, 0, time.UTC)
	return []string{"", "", day.Format(time.RFC3339Nano), day.AddDate(0, 0, 1).Format(time.RFC3339Nano),
		strconv.Itoa(24 * 60 * 60), strconv.FormatInt(it.AmountMinor, 10), it.Currency,
		UsageKindStorage, it.Region, day.Format(time.DateOnly), strconv.FormatInt(it.UsedBytes, 10)}
}

func writeCSVRow(cw *csv.Writer, rec []string) error {
	for i := range rec {
		rec[i] = audit.NeutraliseCell(rec[i])
	}
	if err := cw.Write(rec); err != nil {
		return fmt.Errorf("write usage csv: %w", err)
	}
	return nil
}
