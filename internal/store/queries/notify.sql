-- name: ListNodeHoldingAllocations :many
-- The allocations that still hold a node, with their owners: who a
-- node.offline notification goes to.
SELECT id, user_id, status FROM allocations
WHERE node_id = @node_id AND status IN ('provisioning', 'active', 'releasing')
ORDER BY id;
