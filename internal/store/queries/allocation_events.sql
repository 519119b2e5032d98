-- name: InsertAllocationEvent :one
INSERT INTO allocation_events (allocation_id, kind, message, exit_code, bytes_done, bytes_total)
VALUES (@allocation_id, @kind, @message, sqlc.narg(exit_code), sqlc.narg(bytes_done), sqlc.narg(bytes_total))
RETURNING *;

-- name: InsertPullingEvent :execrows
-- Pull progress, at most one row per allocation every @every: the provisioner
-- asks a pulling node every few seconds, and a long pull must not write a
-- row each time.
INSERT INTO allocation_events (allocation_id, kind, message, bytes_done, bytes_total)
SELECT @allocation_id, 'pulling', @message, sqlc.narg(bytes_done), sqlc.narg(bytes_total)
WHERE NOT EXISTS (
    SELECT 1 FROM allocation_events
    WHERE allocation_id = @allocation_id AND kind = 'pulling' AND created_at > clock_timestamp() - @every::interval);

-- name: InsertPulledEvent :execrows
-- The pull ended (the provision that waited for it succeeded): recorded
-- once, and only for an allocation that was seen pulling.
INSERT INTO allocation_events (allocation_id, kind, message)
SELECT @allocation_id, 'pulled', @message
WHERE EXISTS (SELECT 1 FROM allocation_events WHERE allocation_id = @allocation_id AND kind = 'pulling')
  AND NOT EXISTS (SELECT 1 FROM allocation_events WHERE allocation_id = @allocation_id AND kind = 'pulled');

-- name: ListAllocationEvents :many
-- Oldest first, after the cursor's id.
SELECT * FROM allocation_events
WHERE allocation_id = @allocation_id AND id > @after_id
ORDER BY id
LIMIT @page_limit;

-- name: SetAppsReady :one
-- Records which of an allocation's apps pass their probe, as its node
-- reports it; only for an active allocation on that node, and only when it
-- changed. Returns what was ready before.
UPDATE allocations a SET apps_ready = @apps_ready::text[]
FROM (SELECT o.id, o.apps_ready FROM allocations o WHERE o.id = @allocation_id FOR UPDATE) old
WHERE a.id = old.id AND a.node_id = @node_id AND a.status = 'active'
  AND a.apps_ready IS DISTINCT FROM @apps_ready::text[]
RETURNING old.apps_ready AS before;
