-- name: GetAllocation :one
-- user_id, when set, is the caller: an allocation they may not act for
-- (another user's, or a team's they are not in) is not found.
SELECT * FROM allocations
WHERE id = @id AND (sqlc.narg(user_id)::uuid IS NULL OR may_act_for(user_id, sqlc.narg(user_id)::uuid));

-- name: LockAllocation :one
-- GetAllocation, with the row locked for the caller's transaction: what a
-- release reads is still the allocation's status when it changes it (a
-- provisioner step in flight is waited for, then read).
SELECT * FROM allocations
WHERE id = @id AND (sqlc.narg(user_id)::uuid IS NULL OR may_act_for(user_id, sqlc.narg(user_id)::uuid))
FOR UPDATE;

-- name: ListAllocations :many
-- Newest first; user_id, node_id and status narrow it (a user's own list
-- always passes user_id). Each row carries its node's status and SSH address
-- for the read model.
SELECT sqlc.embed(a), n.hostname AS node_hostname, n.status AS node_status,
       n.ssh_host AS node_ssh_host, n.ssh_port AS node_ssh_port,
       n.drain_deadline AS node_drain_deadline, n.drain_reason AS node_drain_reason
FROM allocations a LEFT JOIN nodes n ON n.id = a.node_id
WHERE (sqlc.narg(user_id)::uuid IS NULL OR a.user_id = sqlc.narg(user_id)::uuid)
  AND (sqlc.narg(node_id)::uuid IS NULL OR a.node_id = sqlc.narg(node_id)::uuid)
  AND (sqlc.narg(status)::text IS NULL OR a.status = sqlc.narg(status)::text)
  AND (sqlc.narg(cursor_time)::timestamptz IS NULL
       OR (a.created_at, a.id) < (sqlc.narg(cursor_time)::timestamptz, sqlc.narg(cursor_id)::uuid))
ORDER BY a.created_at DESC, a.id DESC
LIMIT @page_limit;

-- name: TransitionAllocation :one
-- Moves an allocation from one status to another only if it is still in
-- `from`, so concurrent actors cannot both win.
UPDATE allocations SET
    status            = @to_status,
    desired_state     = COALESCE(sqlc.narg(desired_state)::text, desired_state),
    observed_state    = COALESCE(sqlc.narg(observed_state)::text, observed_state),
    failure_reason    = COALESCE(sqlc.narg(failure_reason)::text, failure_reason),
    release_reason    = COALESCE(sqlc.narg(release_reason)::text, release_reason),
    attempts          = CASE WHEN @reset_attempts::boolean THEN 0 ELSE attempts END,
    updated_at        = clock_timestamp(),
    status_changed_at = clock_timestamp(),
    active_at         = CASE WHEN @to_status = 'active' THEN clock_timestamp() ELSE active_at END,
    released_at       = CASE WHEN @to_status IN ('released', 'failed') THEN clock_timestamp() ELSE released_at END,
    -- The first release request is the one billed to; a retry keeps it.
    -- release_at backdates it (a drain's deadline, passed by the time the
    -- sweeper releases).
    release_requested_at = CASE WHEN @to_status = 'releasing'
                                THEN COALESCE(release_requested_at, sqlc.narg(release_at)::timestamptz, clock_timestamp())
                                ELSE release_requested_at END,
    last_error        = CASE WHEN @to_status IN ('released', 'active') THEN '' ELSE last_error END,
    -- An escalation to release_failed keeps the retry schedule it had.
    next_attempt_at   = CASE WHEN @to_status = 'release_failed' THEN next_attempt_at ELSE NULL END,
    -- Only a running workload's apps can be ready.
    apps_ready        = CASE WHEN @to_status = 'active' THEN apps_ready ELSE '{}' END
WHERE id = @id AND status = @from_status
RETURNING *;

-- name: RecordAllocationFailure :one
-- A step that failed and will be tried again: count it, keep its error and
-- when to try next. The status does not change.
UPDATE allocations SET attempts = attempts + 1, last_error = @last_error,
    next_attempt_at = clock_timestamp() + @backoff::interval, updated_at = clock_timestamp()
WHERE id = @id AND status = @status
RETURNING *;

-- name: ClaimDueReleases :many
-- Releases the reconciler must (re)try now: a failed attempt whose backoff
-- has passed, or one whose last attempt was never reported (a crash, a lost
-- event) after the deadline. The claim pushes next_attempt_at out by the
-- lease so replicas do not drive the same release at once.
UPDATE allocations SET next_attempt_at = clock_timestamp() + @lease::interval
WHERE id IN (
    SELECT id FROM allocations
    WHERE status IN ('releasing', 'release_failed')
      AND COALESCE(next_attempt_at, status_changed_at + @deadline::interval) <= clock_timestamp()
    ORDER BY COALESCE(next_attempt_at, status_changed_at)
    LIMIT @batch
    FOR UPDATE SKIP LOCKED)
RETURNING *;

-- name: ListOverdueReleases :many
-- Releases asked for longer ago than the deadline and still not confirmed:
-- they become release_failed, an operator alarm (and keep being retried).
SELECT * FROM allocations
WHERE status = 'releasing' AND release_requested_at < clock_timestamp() - @deadline::interval
ORDER BY release_requested_at
LIMIT @batch
FOR UPDATE SKIP LOCKED;

-- name: ListNodeWaitingProvisions :many
-- A node's provisions that found its agent away and wait for it (a failed
-- attempt set next_attempt_at), driven again when its agent reports.
SELECT * FROM allocations
WHERE node_id = @node_id AND status = 'provisioning' AND next_attempt_at IS NOT NULL;

-- name: ListNodePendingReleases :many
-- A node's releases still to confirm, driven again when its agent reports.
SELECT * FROM allocations WHERE node_id = @node_id AND status IN ('releasing', 'release_failed');

-- name: ListLostNodeAllocations :many
-- Allocations still held on nodes that stayed offline, while the control
-- plane was up, for longer than the grace: they end as failed (node_lost).
SELECT a.* FROM allocations a JOIN nodes n ON n.id = a.node_id
WHERE n.status = 'offline' AND n.offline_since IS NOT NULL AND n.offline_grace_micros >= @grace_micros::bigint
  AND a.status IN ('requested', 'provisioning', 'active', 'releasing', 'release_failed')
ORDER BY a.id
LIMIT @batch
FOR UPDATE OF a SKIP LOCKED;

-- name: NoteProvisionProgress :execrows
-- A provision that goes on on the node (an image pulling): its progress as
-- last_error, status_changed_at moved on and attempts reset, so the
-- reconciler neither counts it as stuck nor gives up on it while the node
-- reports progress (the node bounds a pull itself).
UPDATE allocations SET last_error = @note, attempts = 0, status_changed_at = clock_timestamp(), updated_at = clock_timestamp()
WHERE id = @id AND status = 'provisioning';

-- name: BumpAllocationAttempts :one
UPDATE allocations SET attempts = attempts + 1, status_changed_at = clock_timestamp(), updated_at = clock_timestamp()
WHERE id = @id AND status = @status
RETURNING *;

-- name: ListStuckAllocations :many
-- Allocations in a transitional status for longer than the deadline; the
-- reconciler retries or fails them. SKIP LOCKED lets replicas share them.
SELECT * FROM allocations
WHERE status IN ('requested', 'provisioning')
  AND status_changed_at < clock_timestamp() - @deadline::interval
ORDER BY status_changed_at
LIMIT @batch
FOR UPDATE SKIP LOCKED;

-- name: PlacementCandidates :many
-- Eligible nodes for a SKU with enough free healthy GPUs of its model,
-- fewest free first (best fit keeps big nodes whole for big SKUs), read
-- from the trigger-kept capacity table, among nodes whose agent offers the
-- runtime, with their free count. Placement caches the list (package
-- allocation), so this runs when a list expires or runs out.
SELECT c.node_id, c.free
FROM node_gpu_capacity c JOIN nodes n ON n.id = c.node_id
WHERE c.model = @model AND c.free >= @gpu_count::int
  AND n.region = @region AND n.status = 'online' AND n.admin_state = 'active'
  AND @runtime::text = ANY(n.runtimes)
ORDER BY c.free, c.node_id
LIMIT 32;

-- name: PlaceAllocation :one
-- Places an allocation on one node in one statement. The node is held FOR
-- SHARE (a concurrent disable waits for the commit) and must still be
-- online and active and offer the runtime; gpu_count of its free healthy GPUs of the model are
-- taken FOR UPDATE SKIP LOCKED, so concurrent creates take disjoint
-- devices instead of queueing on the same rows; the allocation is inserted
-- with them, and they are reserved for it. No row when the node is out of
-- service or short of free GPUs (the ones it did take stay locked until
-- the transaction ends, as any row lock). The SKU must still be active, in
-- the node's region, and priced and shaped as the caller says, so a caller
-- that places from what it saw of the SKU before (package allocation's
-- early placement) never records a price or shape the SKU no longer has.
WITH node AS (
    SELECT n.id FROM nodes n
    WHERE n.id = @node_id AND n.status = 'online' AND n.admin_state = 'active'
      AND @runtime::text = ANY(n.runtimes)
      AND EXISTS (SELECT FROM skus s WHERE s.id = @sku_id AND s.active AND s.region = n.region
                  AND s.gpu_model = @model AND s.gpu_count = @gpu_count::int
                  AND s.price_per_hour_minor = @price_per_hour_minor AND s.currency = @currency)
    FOR SHARE OF n
), picked AS (
    SELECT g.id, g.idx, g.uuid FROM gpus g
    WHERE g.node_id = @node_id AND g.model = @model AND g.health = 'healthy' AND g.allocation_id IS NULL
      AND EXISTS (SELECT FROM node)
    ORDER BY g.idx
    LIMIT @gpu_count::int
    FOR UPDATE SKIP LOCKED
), placed AS (
    INSERT INTO allocations (user_id, created_by, sku_id, node_id, name, gpus, gpu_count, price_per_hour_minor, currency, ssh_key_ids,
                             runtime, workload)
    SELECT @user_id, @created_by::uuid, @sku_id, @node_id, @name,
           jsonb_agg(jsonb_build_object('index', p.idx, 'uuid', p.uuid) ORDER BY p.idx),
           @gpu_count::int, @price_per_hour_minor, @currency, sqlc.narg(ssh_key_ids)::uuid[],
           @runtime::text, sqlc.narg(workload)::jsonb
    FROM picked p
    HAVING count(*) = @gpu_count::int
    RETURNING *
), reserved AS (
    UPDATE gpus SET allocation_id = placed.id, updated_at = now()
    FROM placed WHERE gpus.id IN (SELECT id FROM picked)
)
SELECT * FROM placed;

-- name: FreeGPUs :execrows
-- Through the allocation's node: a node has a handful of GPUs, and no
-- index covers allocation_id (so a reservation is a HOT update).
UPDATE gpus SET allocation_id = NULL, updated_at = now()
WHERE node_id = (SELECT a.node_id FROM allocations a WHERE a.id = @allocation_id)
  AND allocation_id = @allocation_id;

-- name: GetSKU :one
SELECT * FROM skus WHERE id = @id;

-- name: CountAllocationsByStatus :many
SELECT status, count(*)::bigint AS n FROM allocations GROUP BY status;

-- name: CountNodesByState :many
SELECT status, admin_state, count(*)::bigint AS n FROM nodes GROUP BY status, admin_state;

-- name: CountGPUsByState :one
SELECT count(*) FILTER (WHERE allocation_id IS NULL AND health = 'healthy')::bigint AS free,
       count(*) FILTER (WHERE allocation_id IS NOT NULL)::bigint AS allocated,
       count(*) FILTER (WHERE health = 'unhealthy')::bigint AS unhealthy
FROM gpus;

-- name: UsageRevenueSince :many
-- Usage debits posted since a time, per currency (revenue account entries).
SELECT a.currency, COALESCE(sum(e.amount_minor), 0)::bigint AS amount_minor
FROM ledger_entries e
JOIN ledger_accounts a ON a.id = e.account_id AND a.kind = 'revenue'
JOIN ledger_transactions t ON t.id = e.transaction_id AND t.kind = 'usage'
WHERE e.created_at >= @since
GROUP BY a.currency;

-- name: ListNodeActiveAllocations :many
SELECT * FROM allocations WHERE node_id = @node_id AND status = 'active';

-- name: ListAllocationsByIDs :many
SELECT * FROM allocations WHERE id = ANY(@ids::uuid[]);

-- name: GetUserAllocationView :one
-- One allocation the caller may act for (theirs, or a team's they are in)
-- with its node's status and SSH address, for reads.
SELECT sqlc.embed(a), n.hostname AS node_hostname, n.status AS node_status,
       n.ssh_host AS node_ssh_host, n.ssh_port AS node_ssh_port,
       n.drain_deadline AS node_drain_deadline, n.drain_reason AS node_drain_reason
FROM allocations a LEFT JOIN nodes n ON n.id = a.node_id
WHERE a.id = @id AND may_act_for(a.user_id, @user_id::uuid);

-- name: GetAllocationAdminView :one
-- Any allocation with its node's status and SSH address and its owner, for
-- admins.
SELECT sqlc.embed(a), n.hostname AS node_hostname, n.status AS node_status,
       n.ssh_host AS node_ssh_host, n.ssh_port AS node_ssh_port,
       n.drain_deadline AS node_drain_deadline, n.drain_reason AS node_drain_reason,
       u.username AS owner_username, u.email AS owner_email
FROM allocations a LEFT JOIN nodes n ON n.id = a.node_id JOIN users u ON u.id = a.user_id
WHERE a.id = @id;

-- name: ShortLockWait :exec
-- For the rest of the transaction, a statement waits at most 100 ms for a
-- row lock another transaction holds, then fails (lock_not_available). A
-- batch of provisioning steps locks several allocations in no set order;
-- with this it is never one side of a deadlock that the other side loses:
-- it gives up first, and its steps run alone.
SELECT set_config('lock_timeout', '100ms', true);
