-- name: ListNodeHoldingAllocations :many
-- The allocations that still hold a node, with their owners: who a
-- node.offline notification goes to.
SELECT id, user_id, status FROM allocations
WHERE node_id = @node_id AND status IN ('provisioning', 'active', 'releasing')
ORDER BY id;

-- name: GetNotifyAllocation :one
-- What a notification says about an allocation: its name, SKU and why it
-- ended.
SELECT a.id, a.user_id, a.name, a.status, a.failure_reason, a.release_reason, s.name AS sku_name
FROM allocations a JOIN skus s ON s.id = a.sku_id
WHERE a.id = @id;

-- name: InsertNotification :one
-- A redelivered event inserts nothing (and returns no row).
INSERT INTO notifications (id, user_id, event_id, kind, title, body, allocation_id)
VALUES (@id, @user_id, @event_id, @kind, @title, @body, sqlc.narg(allocation_id))
ON CONFLICT (event_id, user_id, allocation_id) DO NOTHING
RETURNING *;

-- name: GetNotificationByEvent :one
SELECT * FROM notifications
WHERE event_id = @event_id AND user_id = @user_id AND allocation_id IS NOT DISTINCT FROM sqlc.narg(allocation_id);

-- name: ListNotifications :many
-- A user's notifications, newest first; unread_only keeps the unread ones.
SELECT * FROM notifications
WHERE user_id = @user_id
  AND (NOT @unread_only::boolean OR read_at IS NULL)
  AND (sqlc.narg(cursor_id)::uuid IS NULL OR id < sqlc.narg(cursor_id)::uuid)
ORDER BY id DESC
LIMIT @page_limit;

-- name: CountUnreadNotifications :one
SELECT count(*) FROM notifications WHERE user_id = @user_id AND read_at IS NULL;

-- name: MarkNotificationsRead :execrows
-- ids of another user, or already read, change nothing.
UPDATE notifications SET read_at = now()
WHERE user_id = @user_id AND read_at IS NULL AND id = ANY(@ids::uuid[]);

-- name: MarkAllNotificationsRead :execrows
UPDATE notifications SET read_at = now() WHERE user_id = @user_id AND read_at IS NULL;

-- name: DeleteOldNotifications :execrows
-- Housekeeping: read notifications older than keep go; unread ones stay.
DELETE FROM notifications WHERE read_at IS NOT NULL AND created_at < now() - @keep::interval;
