-- name: UpsertRegion :exec
INSERT INTO regions (id, name) VALUES (@id, @name)
ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name;

-- name: GetRegion :one
SELECT * FROM regions WHERE id = @id;

-- name: UpsertSKU :execrows
-- For the seed: a SKU that exists is left as it is (0 rows).
INSERT INTO skus (id, name, gpu_model, gpu_count, gpu_memory_mib, vcpu, memory_mib, disk_gib,
                  price_per_hour_minor, currency, region, active)
VALUES (@id, @name, @gpu_model, @gpu_count, @gpu_memory_mib, @vcpu, @memory_mib, @disk_gib,
        @price_per_hour_minor, @currency, @region, @active)
ON CONFLICT (id) DO NOTHING;

-- name: ListActiveSKUs :many
-- Each SKU with how many more allocations of it fit now: per eligible node
-- (online, active, same region), the free healthy GPUs of the SKU's model
-- divided by gpu_count, summed.
SELECT s.*,
       COALESCE((
           SELECT sum(c.free / s.gpu_count)
           FROM node_gpu_capacity c JOIN nodes n ON n.id = c.node_id
           WHERE c.model = s.gpu_model AND c.free >= s.gpu_count
             AND n.region = s.region AND n.status = 'online' AND n.admin_state = 'active'
       ), 0)::int AS available
FROM skus s
WHERE s.active AND (sqlc.narg(cursor_id)::text IS NULL OR s.id > sqlc.narg(cursor_id)::text)
ORDER BY s.id
LIMIT @page_limit;

-- name: CreateNode :one
INSERT INTO nodes (hostname, region, labels, status)
VALUES (@hostname, @region, @labels, @status)
RETURNING *;

-- name: GetNode :one
SELECT * FROM nodes WHERE id = @id;

-- name: GetNodeForUpdate :one
SELECT * FROM nodes WHERE id = @id FOR UPDATE;

-- name: ListNodes :many
SELECT * FROM nodes
WHERE (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status)::text)
  AND (sqlc.narg(region)::text IS NULL OR region = sqlc.narg(region)::text)
  AND (sqlc.narg(admin_state)::text IS NULL OR admin_state = sqlc.narg(admin_state)::text)
  AND (NOT @exclude_disabled::boolean OR admin_state <> 'disabled')
  -- A case-insensitive substring of the hostname (hostnames are lower case);
  -- strpos, not LIKE, so % and _ in it are plain characters.
  AND (sqlc.narg(search)::text IS NULL OR strpos(hostname, lower(sqlc.narg(search)::text)) > 0)
  AND (sqlc.narg(cursor_hostname)::text IS NULL OR hostname > sqlc.narg(cursor_hostname)::text)
ORDER BY hostname
LIMIT @page_limit;

-- name: SetNodeAdminState :one
-- Enable or disable; leaving draining drops its deadline and reason.
UPDATE nodes SET admin_state = @admin_state, drain_deadline = NULL, drain_reason = '', updated_at = now()
WHERE id = @id RETURNING *;

-- name: UpsertNodeOnline :one
-- For the dev seed: a node that exists keeps its states. The in-process
-- sim runtime that runs seeded nodes stands in for every node runtime.
INSERT INTO nodes (hostname, region, status, last_heartbeat_at, runtimes)
VALUES (@hostname, @region, 'online', now(), '{process,docker}')
ON CONFLICT (hostname) DO NOTHING
RETURNING *;

-- name: SetNodeStatus :exec
UPDATE nodes SET status = @status, last_heartbeat_at = @last_heartbeat_at, updated_at = now() WHERE id = @id;

-- name: InsertGPU :exec
INSERT INTO gpus (node_id, idx, uuid, model, memory_mib, health, health_reason)
VALUES (@node_id, @idx, @uuid, @model, @memory_mib, @health, @health_reason);

-- name: ListGPUsByNodes :many
SELECT * FROM gpus WHERE node_id = ANY(@node_ids::uuid[]) ORDER BY node_id, idx;

-- name: CountNodeGPUsInUse :one
SELECT count(*) FROM gpus WHERE node_id = @node_id AND allocation_id IS NOT NULL;

-- name: RecordAgentHello :execrows
-- Once per agent connection, not per heartbeat: one indexed row update.
UPDATE nodes
SET agent_version = @agent_version, agent_connected_at = @at,
    ssh_host = @ssh_host, ssh_port = @ssh_port, runtimes = @runtimes::text[],
    status = 'online', last_heartbeat_at = @at, updated_at = now()
WHERE id = @id;

-- name: GetNodeByHostname :one
SELECT * FROM nodes WHERE hostname = @hostname;

-- name: ListHeldGPUHealth :many
-- A node's GPUs held by allocations, with their owner and health before a
-- health sync, to tell who must hear of a GPU turning unhealthy.
SELECT g.uuid, g.idx, g.health, a.id AS allocation_id, a.user_id
FROM gpus g JOIN allocations a ON a.id = g.allocation_id
WHERE g.node_id = @node_id;

-- name: CordonNode :execrows
-- Takes a node out of placement after a GPU failed under an allocation;
-- only an active node (an admin's maintenance or disable is left alone).
UPDATE nodes SET admin_state = 'maintenance', updated_at = now() WHERE id = @id AND admin_state = 'active';

-- Liveness and GPU reports: written only by inventory.Liveness.

-- name: MarkNodeOnline :one
-- true when the node was offline until now. No row when the report was
-- heard before the node went offline (see TouchNodesOnline).
UPDATE nodes n SET status = 'online', last_heartbeat_at = @at, updated_at = now(),
    offline_since = NULL, offline_grace_micros = 0, offline_checked_at = NULL
FROM (SELECT o.status AS was FROM nodes o WHERE o.id = @id FOR UPDATE) old
WHERE n.id = @id AND (old.was <> 'offline' OR n.offline_since IS NULL OR n.offline_since < @at)
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
SELECT id, last_heartbeat_at FROM nodes
WHERE status = 'online' AND last_heartbeat_at < @before
  AND EXISTS (SELECT 1 FROM node_credentials c WHERE c.node_id = nodes.id);

-- name: UpsertReportedGPU :exec
-- A device the agent reports: at its index now, reported again if it had
-- gone missing (indexes are unique among reported devices, checked at
-- commit: see 0088).
INSERT INTO gpus (node_id, idx, uuid, model, memory_mib, health, health_reason)
VALUES (@node_id, @idx, @uuid, @model, @memory_mib, @health, @health_reason)
ON CONFLICT (uuid) DO UPDATE SET
    node_id = EXCLUDED.node_id, idx = EXCLUDED.idx, model = EXCLUDED.model, memory_mib = EXCLUDED.memory_mib,
    health = EXCLUDED.health, health_reason = EXCLUDED.health_reason, reported = true, updated_at = now()
WHERE (gpus.node_id, gpus.idx, gpus.model, gpus.memory_mib, gpus.health, gpus.health_reason, gpus.reported)
   IS DISTINCT FROM (EXCLUDED.node_id, EXCLUDED.idx, EXCLUDED.model, EXCLUDED.memory_mib, EXCLUDED.health, EXCLUDED.health_reason, true);

-- name: DeleteUnreportedGPUs :execrows
-- Free GPUs of a node its agent no longer reports are removed.
DELETE FROM gpus
WHERE gpus.node_id = @node_id AND allocation_id IS NULL AND NOT (gpus.uuid = ANY(@reported::text[]));

-- name: MarkUnreportedGPUs :execrows
-- Held GPUs its agent no longer reports are marked unhealthy, so placement
-- skips them once they are released, and no longer reported, so another
-- device may take their index.
UPDATE gpus SET health = 'unhealthy', health_reason = 'missing from the agent''s report', reported = false, updated_at = now()
WHERE gpus.node_id = @node_id AND allocation_id IS NOT NULL AND NOT (gpus.uuid = ANY(@reported::text[]))
  AND reported;

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
-- Returns the nodes that were offline until now. A stamp heard before its
-- node went offline (it waited in the flusher while a probe or a sweep
-- found the agent gone) leaves the node offline: only a report heard after
-- the mark brings it back.
WITH v AS (SELECT unnest(@ids::uuid[]) AS id, unnest(@ats::timestamptz[]) AS at),
old AS (SELECT n.id, n.status FROM nodes n JOIN v ON v.id = n.id ORDER BY n.id FOR UPDATE OF n)
UPDATE nodes SET status = 'online', last_heartbeat_at = v.at, updated_at = now(),
    offline_since = NULL, offline_grace_micros = 0, offline_checked_at = NULL
FROM v, old
WHERE nodes.id = v.id AND old.id = v.id AND (nodes.last_heartbeat_at IS NULL OR nodes.last_heartbeat_at < v.at)
  AND (old.status <> 'offline' OR nodes.offline_since IS NULL OR nodes.offline_since < v.at)
RETURNING nodes.id, old.status = 'offline' AS came_back;
