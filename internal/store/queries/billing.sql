-- name: GetAllocationForUsage :one
SELECT id, user_id, sku_id, price_per_hour_minor, currency, status, active_at, release_requested_at
FROM allocations WHERE id = @id;

-- name: OpenUsage :execrows
-- Opens the allocation's usage window at started_at with the price and
-- currency fixed at create; a window already open (or closed) is left as it
-- is, so a redelivered or late active event changes nothing. A window opened
-- late for a node already offline starts paused at its last heartbeat.
INSERT INTO usage_records (allocation_id, user_id, sku_id, price_per_hour_minor, currency, started_at, metered_at, paused_at)
SELECT a.id, a.user_id, a.sku_id, a.price_per_hour_minor, a.currency, @started_at, @started_at,
       CASE WHEN n.offline_since IS NOT NULL
            THEN GREATEST(@started_at::timestamptz, COALESCE(n.last_heartbeat_at, @started_at::timestamptz)) END
FROM allocations a LEFT JOIN nodes n ON n.id = a.node_id
WHERE a.id = @allocation_id
ON CONFLICT (allocation_id) DO NOTHING;

-- name: LockUsage :one
SELECT * FROM usage_records WHERE allocation_id = @allocation_id FOR UPDATE;

-- name: ClaimUsageToMeter :one
-- One open window not yet metered up to now, locked so meter replicas (and
-- a concurrent close) skip it rather than wait.
SELECT * FROM usage_records
WHERE ended_at IS NULL AND metered_at < @now
ORDER BY metered_at
LIMIT 1
FOR UPDATE SKIP LOCKED;

-- name: SetUsageCharged :exec
UPDATE usage_records
SET charged_minor = @charged_minor, charged_seconds = @charged_seconds, metered_at = @metered_at,
    ended_at = COALESCE(sqlc.narg(ended_at)::timestamptz, ended_at)
WHERE allocation_id = @allocation_id;

-- name: ListOpenUsage :many
-- Open windows grouped by user and currency; user_id and currency narrow it
-- (a balance read passes both).
SELECT * FROM usage_records
WHERE ended_at IS NULL
  AND (sqlc.narg(user_id)::uuid IS NULL OR user_id = sqlc.narg(user_id)::uuid)
  AND (sqlc.narg(currency)::text IS NULL OR currency = sqlc.narg(currency)::text)
ORDER BY user_id, currency, allocation_id;

-- name: LockUserOpenUsage :many
-- In allocation_id order, the same order everywhere, before any ledger lock.
SELECT * FROM usage_records
WHERE user_id = @user_id AND currency = @currency AND ended_at IS NULL
ORDER BY allocation_id
FOR UPDATE;

-- name: ListUsage :many
-- A user's windows that overlap [since, until), newest first.
SELECT * FROM usage_records
WHERE user_id = @user_id
  AND (sqlc.narg(allocation_id)::uuid IS NULL OR allocation_id = sqlc.narg(allocation_id)::uuid)
  AND (sqlc.narg(since)::timestamptz IS NULL OR ended_at IS NULL OR ended_at > sqlc.narg(since)::timestamptz)
  AND (sqlc.narg(until)::timestamptz IS NULL OR started_at < sqlc.narg(until)::timestamptz)
  AND (sqlc.narg(cursor_started_at)::timestamptz IS NULL
       OR (started_at, allocation_id) < (sqlc.narg(cursor_started_at)::timestamptz, sqlc.narg(cursor_allocation_id)::uuid))
ORDER BY started_at DESC, allocation_id DESC
LIMIT @page_limit;

-- name: GetPolicy :one
SELECT value FROM policies WHERE key = @key;

-- name: FireBalanceAlert :execrows
-- 1 when the alert is newly armed-and-fired, 0 when it already fired for
-- this crossing.
INSERT INTO balance_alerts (user_id, kind, fired_at) VALUES (@user_id, @kind, @fired_at)
ON CONFLICT (user_id, kind) DO NOTHING;

-- name: ClearBalanceAlert :exec
DELETE FROM balance_alerts WHERE user_id = @user_id AND kind = @kind;

-- name: ListRunningAllocations :many
-- What depletion force-releases: everything that runs, or soon will.
SELECT id FROM allocations
WHERE user_id = @user_id AND currency = @currency AND status IN ('requested', 'provisioning', 'active')
ORDER BY id;

-- name: BillingUserExists :one
SELECT EXISTS (SELECT 1 FROM users WHERE id = @id);

-- name: PauseNodeUsage :execrows
-- A node went offline: the open, running windows of its allocations stop
-- accruing at the last heartbeat that saw the node (never before a
-- window's start, nor before what resumed it).
UPDATE usage_records u SET paused_at = GREATEST(u.started_at, @last_seen::timestamptz)
FROM allocations a
WHERE a.id = u.allocation_id AND a.node_id = @node_id
  AND u.ended_at IS NULL AND u.paused_at IS NULL;

-- name: LockPausedUsage :many
-- The paused windows among allocations a node's agent reports running, in
-- allocation order, locked to resume them.
SELECT u.* FROM usage_records u JOIN allocations a ON a.id = u.allocation_id
WHERE a.node_id = @node_id AND u.allocation_id = ANY(@ids::uuid[])
  AND u.ended_at IS NULL AND u.paused_at IS NOT NULL
ORDER BY u.allocation_id
FOR UPDATE OF u;

-- name: ResumeUsage :exec
UPDATE usage_records SET paused_micros = paused_micros + @gap_micros::bigint, paused_at = NULL
WHERE allocation_id = @allocation_id AND paused_at IS NOT NULL;

-- name: LockNodeUsageEndedAfter :many
-- Windows on a node that closed after its last heartbeat: the node was
-- found silent only after they closed (a release asked while its replica
-- was down), so they are cut back to that heartbeat.
SELECT u.* FROM usage_records u JOIN allocations a ON a.id = u.allocation_id
WHERE a.node_id = @node_id AND u.ended_at > @last_seen::timestamptz
ORDER BY u.allocation_id
FOR UPDATE OF u;

-- name: RunwayFigures :one
-- A create's runway check, under the user's account lock, in one read:
-- running_burn is the hourly price of what the user runs or soon will in
-- the currency (allocations requested, provisioning or active), and
-- unbilled_bound is an upper bound of their usage accrued and not yet
-- debited: each open window priced for every started second since it
-- began (pauses only make that less), plus one minor unit, less what it
-- has been debited. It reads no row into the application, so it costs the
-- same however much the user runs; when the bound is not enough to admit
-- a create, billing computes the exact figure from ListOpenUsage. The
-- currency is the SKU's, read here: the create reads the SKU itself in the
-- same round trip.
WITH c AS (SELECT s.currency FROM skus s WHERE s.id = @sku_id)
SELECT
    (SELECT COALESCE(SUM(a.price_per_hour_minor), 0) FROM allocations a
     WHERE a.user_id = @user_id AND a.currency = (SELECT currency FROM c)
       AND a.status IN ('requested', 'provisioning', 'active'))::bigint AS running_burn,
    (SELECT COALESCE(SUM(GREATEST(
         (GREATEST(ceil(extract(epoch FROM sqlc.arg(now)::timestamptz - u.started_at)), 0)::bigint * u.price_per_hour_minor + 3599) / 3600
         + 1 - u.charged_minor, 0)), 0)
     FROM usage_records u
     WHERE u.user_id = @user_id AND u.currency = (SELECT currency FROM c) AND u.ended_at IS NULL)::bigint AS unbilled_bound;
