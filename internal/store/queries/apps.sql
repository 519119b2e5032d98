-- name: GetAppTarget :one
-- What the app proxy needs to reach one allocation's app: its owner (and
-- whether they may still use it), state, node and workload.
SELECT a.user_id, a.status, a.node_id, a.runtime, a.workload,
       (u.suspended_at IS NULL AND u.deleted_at IS NULL)::boolean AS owner_active
FROM allocations a
JOIN users u ON u.id = a.user_id
WHERE a.id = $1;
