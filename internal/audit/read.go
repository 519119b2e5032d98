package audit

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Filter narrows List and Export. Zero fields match everything.
type Filter struct {
	Actor  uuid.UUID
	Action string // exact
	// ActionPrefix matches actions that start with it ("allocation.force");
	// Category is a prefix up to the first dot ("allocation"). Both may be
	// given; an action must then match both.
	ActionPrefix string
	Category     string
	TargetType   string
	TargetID     string
	Since        *time.Time // inclusive
	Until        *time.Time // exclusive
}

// Validate refuses a category or prefix that cannot match as meant.
func (f Filter) Validate() error {
	if f.Category != "" && !Known(f.Category) {
		return apperr.Invalid("category must be one of %s", strings.Join(Categories(), ", "))
	}
	if f.ActionPrefix != "" && !ValidPrefix(f.ActionPrefix) {
		return apperr.Invalid("action_prefix must be 1 to 64 of a-z, 0-9, '_' and '.'")
	}
	return nil
}

// prefix is the one LIKE prefix the filter asks for: the longer of the
// category's and the action prefix when one extends the other; two that
// disagree match nothing, which the impossible prefix "!" says.
func (f Filter) prefix() *string {
	var p string
	switch c := f.Category; {
	case c != "" && f.ActionPrefix == "":
		p = c + "."
	case c == "":
		p = f.ActionPrefix
	case strings.HasPrefix(f.ActionPrefix, c+"."):
		p = f.ActionPrefix
	case strings.HasPrefix(c+".", f.ActionPrefix):
		p = c + "."
	default:
		p = "!" // no action starts with "!"
	}
	if p == "" {
		return nil
	}
	return &p
}

func (f Filter) params(afterID int64, limit int) db.ListAuditLogsParams {
	p := db.ListAuditLogsParams{Since: f.Since, Until: f.Until, PageLimit: int32(limit), ActionPrefix: f.prefix()}
	if f.Actor != uuid.Nil {
		p.ActorUserID = uuid.NullUUID{UUID: f.Actor, Valid: true}
	}
	if f.Action != "" {
		p.Action = &f.Action
	}
	if f.TargetType != "" {
		p.TargetType = &f.TargetType
	}
	if f.TargetID != "" {
		p.TargetID = &f.TargetID
	}
	if afterID > 0 {
		p.CursorID = &afterID
	}
	return p
}

// Reader serves the admin views of the log.
type Reader struct {
	store *store.Store
}

// NewReader returns a Reader over st.
func NewReader(st *store.Store) *Reader { return &Reader{store: st} }

// List returns up to limit rows older than afterID (0 for the newest), and
// the id to continue after (0 at the end).
func (r *Reader) List(ctx context.Context, f Filter, afterID int64, limit int) ([]api.AuditLog, int64, error) {
	if err := f.Validate(); err != nil {
		return nil, 0, err
	}
	rows, err := r.store.ListAuditLogs(ctx, f.params(afterID, limit+1))
	if err != nil {
		return nil, 0, fmt.Errorf("list audit logs: %w", err)
	}
	var next int64
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[len(rows)-1].ID
	}
	out := make([]api.AuditLog, len(rows))
	for i, row := range rows {
		out[i] = toAPI(row)
	}
	return out, next, nil
}

// Count is how many rows match f, whatever the page.
func (r *Reader) Count(ctx context.Context, f Filter) (int64, error) {
	if err := f.Validate(); err != nil {
		return 0, err
	}
	p := f.params(0, 0)
	n, err := r.store.CountAuditLogs(ctx, db.CountAuditLogsParams{
		ActorUserID: p.ActorUserID, Action: p.Action, ActionPrefix: p.ActionPrefix, TargetType: p.TargetType,
		TargetID: p.TargetID, Since: p.Since, Until: p.Until,
	})
	if err != nil {
		return 0, fmt.Errorf("count audit logs: %w", err)
	}
	return n, nil
}

func toAPI(row db.AuditLog) api.AuditLog {
	meta := map[string]any{}
	_ = json.Unmarshal(row.Metadata, &meta) // always written by Record from a map
	a := api.AuditLog{
		Id: row.ID, OccurredAt: row.OccurredAt, Action: row.Action, ActionLabel: Label(row.Action),
		Category: Category(row.Action), TargetType: row.TargetType,
		TargetId: row.TargetID, Metadata: meta, CorrelationId: row.CorrelationID,
	}
	if row.ActorUserID.Valid {
		id := row.ActorUserID.UUID
		a.ActorUserId = &id
	}
	if row.ClientIp != "" {
		ip := row.ClientIp
		a.ClientIp = &ip
	}
	return a
}

// exportPage is how many rows Export reads per query; it streams, so memory
// stays flat however long the log is.
const exportPage = 500

// CSVHeader is the first row of an export.
var CSVHeader = []string{"id", "occurred_at", "actor_user_id", "action", "target_type", "target_id",
	"metadata", "correlation_id", "client_ip"}

// Export streams every matching row to w as CSV, newest first, with a
// header row. flush, if not nil, is called after each page.
func (r *Reader) Export(ctx context.Context, f Filter, w io.Writer, flush func()) error {
	if err := f.Validate(); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	var after int64
	for {
		rows, err := r.store.ListAuditLogs(ctx, f.params(after, exportPage))
		if err != nil {
			return fmt.Errorf("read audit logs: %w", err)
		}
		for _, row := range rows {
			actor := ""
			if row.ActorUserID.Valid {
				actor = row.ActorUserID.UUID.String()
			}
			rec := []string{strconv.FormatInt(row.ID, 10), row.OccurredAt.UTC().Format(time.RFC3339Nano), actor,
				row.Action, row.TargetType, row.TargetID, string(row.Metadata), row.CorrelationID, row.ClientIp}
			for i := range rec {
				rec[i] = NeutraliseCell(rec[i])
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		if flush != nil {
			flush()
		}
		if len(rows) < exportPage {
			return nil
		}
		after = rows[len(rows)-1].ID
	}
}

// NeutraliseCell defuses spreadsheet formula injection (CWE-1236): a cell
// that a spreadsheet would run as a formula gets a leading apostrophe, which
// makes it plain text.
func NeutraliseCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
