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

-- name: MarkNodeOnline :one
-- true when the node was offline until now.
UPDATE nodes n SET status = 'online', last_heartbeat_at = @at, updated_at = now(),
    offline_since = NULL, offline_grace_micros = 0, offline_checked_at = NULL
FROM (SELECT o.status AS was FROM nodes o WHERE o.id = @id FOR UPDATE) old
WHERE n.id = @id
RETURNING old.was = 'offline' AS came_back;

-- name: SweepOfflineNodes :many
-- Nodes run by an agent (they hold a credential) whose last heartbeat is
-- older than the deadline go offline. Nodes without an agent (the dev
-- seed's simulated ones) are left alone.
-- Only the @ids the sweeper confirmed no replica hears from.
UPDATE nodes SET status = 'offline', updated_at = now(),
    offline_since = now(), offline_grace_micros = 0, offline_checked_at = now()
WHERE id = ANY(@ids::uuid[]) AND status = 'online' AND last_heartbeat_at < @before
  AND EXISTS (SELECT 1 FROM node_credentials c WHERE c.node_id = nodes.id)
RETURNING id, hostname, last_heartbeat_at;

-- name: ListStaleNodes :many
-- Agent-run nodes whose last written heartbeat is older than the deadline:
-- candidates for offline, once no replica has heard from them either (a
-- stamp may be waiting in a replica's flusher while Postgres was away).
SELECT id FROM nodes
WHERE status = 'online' AND last_heartbeat_at < @before
  AND EXISTS (SELECT 1 FROM node_credentials c WHERE c.node_id = nodes.id);

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
UPDATE nodes SET status = 'offline', updated_at = now(),
    offline_since = now(), offline_grace_micros = 0, offline_checked_at = now()
WHERE id = @id AND status = 'online'
RETURNING id, hostname, last_heartbeat_at;

-- name: CountOfflineGrace :exec
-- Adds to each offline node's grace the time since the last count, capped
-- at @cap: when no control plane ran to count (an outage), the time does
-- not count against the node. Replicas sharing the sweep add each instant
-- once, since each adds only what passed since the last count.
UPDATE nodes SET
    offline_grace_micros = offline_grace_micros
        + LEAST((EXTRACT(EPOCH FROM (clock_timestamp() - offline_checked_at)) * 1000000)::bigint, @cap_micros::bigint),
    offline_checked_at = clock_timestamp()
WHERE status = 'offline' AND offline_since IS NOT NULL AND offline_checked_at IS NOT NULL;

-- name: TouchNodesOnline :many
-- One statement for every node whose agent reported since the last flush:
-- liveness costs a write per flush, not per heartbeat.
-- Returns the nodes that were offline until now.
WITH v AS (SELECT unnest(@ids::uuid[]) AS id, unnest(@ats::timestamptz[]) AS at),
old AS (SELECT n.id, n.status FROM nodes n JOIN v ON v.id = n.id ORDER BY n.id FOR UPDATE OF n)
UPDATE nodes SET status = 'online', last_heartbeat_at = v.at, updated_at = now(),
    offline_since = NULL, offline_grace_micros = 0, offline_checked_at = NULL
FROM v, old
WHERE nodes.id = v.id AND old.id = v.id AND (nodes.last_heartbeat_at IS NULL OR nodes.last_heartbeat_at < v.at)
RETURNING nodes.id, old.status = 'offline' AS came_back;
