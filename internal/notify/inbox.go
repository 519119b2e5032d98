package notify

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// MaxMarkIDs is how many ids one mark-read request may name.
const MaxMarkIDs = 200

// Inbox reads and marks a user's stored notifications. Every query is
// scoped to the user it is given: another user's notification is never
// listed or changed.
type Inbox struct {
	st *store.Store
}

// NewInbox returns an Inbox over st.
func NewInbox(st *store.Store) *Inbox { return &Inbox{st: st} }

// List returns up to limit of user's notifications after cursor (the last
// id of the previous page; uuid.Nil for the first), newest first, the next
// page's cursor (uuid.Nil at the end) and the user's unread count.
func (in *Inbox) List(ctx context.Context, user uuid.UUID, unreadOnly bool, after uuid.UUID, limit int) (api.NotificationList, uuid.UUID, error) {
	p := db.ListNotificationsParams{UserID: user, UnreadOnly: unreadOnly, PageLimit: int32(limit + 1)}
	if after != uuid.Nil {
		p.CursorID = uuid.NullUUID{UUID: after, Valid: true}
	}
	rows, err := in.st.ListNotifications(ctx, p)
	if err != nil {
		return api.NotificationList{}, uuid.Nil, fmt.Errorf("list notifications: %w", err)
	}
	unread, err := in.st.CountUnreadNotifications(ctx, user)
	if err != nil {
		return api.NotificationList{}, uuid.Nil, fmt.Errorf("count unread notifications: %w", err)
	}
	var next uuid.UUID
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[len(rows)-1].ID
	}
	out := api.NotificationList{Items: make([]api.Notification, len(rows)), UnreadCount: unread}
	for i, r := range rows {
		out.Items[i] = ToAPI(r)
	}
	return out, next, nil
}

// MarkRead marks ids (or, with all, every notification) of user read and
// returns how many changed and the unread count left. Marking is not
// audited: it changes only what the user has seen, never what they hold.
func (in *Inbox) MarkRead(ctx context.Context, user uuid.UUID, ids []uuid.UUID, all bool) (api.MarkNotificationsReadResponse, error) {
	switch {
	case all && len(ids) > 0:
		return api.MarkNotificationsReadResponse{}, apperr.Invalid("send either ids or all, not both")
	case !all && len(ids) == 0:
		return api.MarkNotificationsReadResponse{}, apperr.Invalid("send ids (1 to %d) or all: true", MaxMarkIDs)
	case len(ids) > MaxMarkIDs:
		return api.MarkNotificationsReadResponse{}, apperr.Invalid("ids may name at most %d notifications", MaxMarkIDs)
	}
	var out api.MarkNotificationsReadResponse
	err := in.st.InTx(ctx, func(tx *store.Store) error {
		var err error
		if all {
			out.Marked, err = tx.MarkAllNotificationsRead(ctx, user)
		} else {
			out.Marked, err = tx.MarkNotificationsRead(ctx, db.MarkNotificationsReadParams{UserID: user, Ids: ids})
		}
		if err != nil {
			return fmt.Errorf("mark notifications read: %w", err)
		}
		out.UnreadCount, err = tx.CountUnreadNotifications(ctx, user)
		return err
	})
	if err != nil {
		return api.MarkNotificationsReadResponse{}, fmt.Errorf("mark notifications read: %w", err)
	}
	return out, nil
}

// KeepRead is how long a read notification is kept; unread ones stay until
// read.
const KeepRead = 90 * 24 * time.Hour

// Cleanup deletes read notifications older than KeepRead (housekeeping).
func (in *Inbox) Cleanup(ctx context.Context) (int64, error) {
	n, err := in.st.DeleteOldNotifications(ctx, pgtype.Interval{Microseconds: KeepRead.Microseconds(), Valid: true})
	if err != nil {
		return 0, fmt.Errorf("delete old notifications: %w", err)
	}
	return n, nil
}

// ToAPI renders a stored notification.
func ToAPI(n db.Notification) api.Notification {
	out := api.Notification{Id: n.ID, Kind: n.Kind, Title: n.Title, Body: n.Body, CreatedAt: n.CreatedAt, ReadAt: n.ReadAt}
	if n.AllocationID.Valid {
		id := n.AllocationID.UUID
		out.AllocationId = &id
	}
	return out
}
