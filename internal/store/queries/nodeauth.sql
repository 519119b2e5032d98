-- name: InsertJoinToken :one
INSERT INTO node_join_tokens (node_id, token_hash, created_by, expires_at)
VALUES (@node_id, @token_hash, @created_by, @expires_at)
RETURNING *;

-- name: RevokeUnusedJoinTokens :execrows
-- A new join token replaces the node's older unused ones.
UPDATE node_join_tokens SET revoked_at = now()
WHERE node_id = @node_id AND used_at IS NULL AND revoked_at IS NULL;

-- name: GetJoinTokenForUpdate :one
SELECT * FROM node_join_tokens WHERE token_hash = @token_hash FOR UPDATE;

-- name: UseJoinToken :exec
UPDATE node_join_tokens SET used_at = now() WHERE id = @id;

-- name: InsertNodeCredential :one
INSERT INTO node_credentials (node_id, secret_hash) VALUES (@node_id, @secret_hash) RETURNING *;

-- name: GetNodeCredential :one
SELECT * FROM node_credentials WHERE id = @id;

-- name: RevokeNodeCredentials :execrows
UPDATE node_credentials SET revoked_at = now() WHERE node_id = @node_id AND revoked_at IS NULL;

-- name: MarkNodeOnline :exec
UPDATE nodes SET status = 'online', last_heartbeat_at = @at, updated_at = now() WHERE id = @id;

-- name: SweepOfflineNodes :many
-- Nodes run by an agent (they hold a credential) whose last heartbeat is
-- older than the deadline go offline. Nodes without an agent (the dev
-- seed's simulated ones) are left alone.
UPDATE nodes SET status = 'offline', updated_at = now()
WHERE status = 'online' AND last_heartbeat_at < @before
  AND EXISTS (SELECT 1 FROM node_credentials c WHERE c.node_id = nodes.id)
RETURNING id, hostname;

-- name: UpsertReportedGPU :exec
INSERT INTO gpus (node_id, idx, uuid, model, memory_mib, health, health_reason)
VALUES (@node_id, @idx, @uuid, @model, @memory_mib, @health, @health_reason)
ON CONFLICT (uuid) DO UPDATE SET
    node_id = EXCLUDED.node_id, idx = EXCLUDED.idx, model = EXCLUDED.model, memory_mib = EXCLUDED.memory_mib,
    health = EXCLUDED.health, health_reason = EXCLUDED.health_reason, updated_at = now()
WHERE (gpus.node_id, gpus.idx, gpus.model, gpus.memory_mib, gpus.health, gpus.health_reason)
   IS DISTINCT FROM (EXCLUDED.node_id, EXCLUDED.idx, EXCLUDED.model, EXCLUDED.memory_mib, EXCLUDED.health, EXCLUDED.health_reason);

-- name: DeleteUnreportedGPUs :execrows
-- Free GPUs of a node its agent no longer reports are removed.
DELETE FROM gpus
WHERE gpus.node_id = @node_id AND allocation_id IS NULL AND NOT (gpus.uuid = ANY(@reported::text[]));

-- name: MarkUnreportedGPUs :execrows
-- Held GPUs its agent no longer reports are marked unhealthy, so placement
-- skips them once they are released.
UPDATE gpus SET health = 'unhealthy', health_reason = 'missing from the agent''s report', updated_at = now()
WHERE gpus.node_id = @node_id AND allocation_id IS NOT NULL AND NOT (gpus.uuid = ANY(@reported::text[]))
  AND health_reason <> 'missing from the agent''s report';

-- name: MarkNodeOffline :many
UPDATE nodes SET status = 'offline', updated_at = now() WHERE id = @id AND status = 'online'
RETURNING id, hostname;

-- name: TouchNodesOnline :exec
-- One statement for every node whose agent reported since the last flush:
-- liveness costs a write per flush, not per heartbeat.
UPDATE nodes SET status = 'online', last_heartbeat_at = v.at, updated_at = now()
FROM (SELECT unnest(@ids::uuid[]) AS id, unnest(@ats::timestamptz[]) AS at) v
WHERE nodes.id = v.id AND (nodes.last_heartbeat_at IS NULL OR nodes.last_heartbeat_at < v.at);
