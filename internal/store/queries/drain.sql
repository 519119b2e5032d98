-- name: DrainNode :one
-- Puts a node in draining with its deadline and reason (again: moves them).
UPDATE nodes SET admin_state = 'draining', drain_deadline = @deadline, drain_reason = @reason, updated_at = now()
WHERE id = @id
RETURNING *;

-- name: UndrainNode :one
UPDATE nodes SET admin_state = 'active', drain_deadline = NULL, drain_reason = '', updated_at = now()
WHERE id = @id AND admin_state = 'draining'
RETURNING *;

-- name: DecommissionNode :one
UPDATE nodes SET admin_state = 'decommissioned', drain_deadline = NULL, drain_reason = '', updated_at = now()
WHERE id = @id
RETURNING *;

-- name: ListDueDrains :many
-- Draining nodes whose deadline has passed, with what still holds GPUs on
-- them (one row per allocation; none when the node is empty).
SELECT n.id AS node_id, n.drain_deadline, n.drain_reason, a.id AS allocation_id, a.user_id, a.status
FROM nodes n
JOIN allocations a ON a.node_id = n.id
WHERE n.admin_state = 'draining' AND n.drain_deadline <= clock_timestamp()
  AND a.status IN ('requested', 'provisioning', 'active')
ORDER BY n.drain_deadline, a.id
LIMIT @batch;
