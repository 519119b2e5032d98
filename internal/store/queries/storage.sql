-- name: ListRegionIDs :many
-- Every region, by slug: storage's default region is the first.
SELECT id FROM regions ORDER BY id;

-- name: EnsureStorageNamespace :one
-- The namespace's row, created on first use.
INSERT INTO storage_namespaces (namespace, region, owner_user_id)
VALUES (@namespace, @region, sqlc.narg(owner_user_id))
ON CONFLICT (namespace, region) DO UPDATE SET namespace = EXCLUDED.namespace
RETURNING *;

-- name: GetStorageNamespace :one
SELECT * FROM storage_namespaces WHERE namespace = @namespace AND region = @region;

-- name: ReserveStorage :one
-- Counts n more bytes of an upload in flight against the quota, in one
-- statement so that concurrent uploads cannot pass it together. No row:
-- over quota.
UPDATE storage_namespaces
SET reserved_bytes = reserved_bytes + @n::bigint
WHERE namespace = @namespace AND region = @region
  AND used_bytes + reserved_bytes + @n::bigint <= COALESCE(quota_bytes, @default_quota::bigint)
RETURNING *;

-- name: SettleStorage :one
-- An upload ended: its reservation goes, and used_bytes moves by delta
-- (bytes written less those of the file it replaced; 0 when it failed).
UPDATE storage_namespaces
SET reserved_bytes = GREATEST(reserved_bytes - @reserved::bigint, 0),
    used_bytes = GREATEST(used_bytes + @delta::bigint, 0)
WHERE namespace = @namespace AND region = @region
RETURNING *;

-- name: ClaimStorageScan :one
-- Claims the rescan of a namespace whose last scan is older than the
-- given seconds, so that one request of many walks it.
UPDATE storage_namespaces
SET scanned_at = now()
WHERE namespace = @namespace AND region = @region
  AND (scanned_at IS NULL OR scanned_at < now() - make_interval(secs => @stale_seconds::float8))
RETURNING *;

-- name: SetStorageUsed :one
UPDATE storage_namespaces SET used_bytes = @used_bytes, scanned_at = now()
WHERE namespace = @namespace AND region = @region
RETURNING *;

-- name: SetStorageQuota :one
UPDATE storage_namespaces SET quota_bytes = sqlc.narg(quota_bytes)
WHERE namespace = @namespace AND region = @region
RETURNING *;

-- name: ListStorageToCharge :many
-- Namespaces of a region that existed on the day and are not charged for it.
SELECT namespace FROM storage_namespaces
WHERE region = @region AND owner_user_id IS NOT NULL
  AND created_at < sqlc.arg(day)::date + 1
  AND (charged_through IS NULL OR charged_through < sqlc.arg(day)::date)
ORDER BY namespace;

-- name: LockStorageNamespace :one
SELECT * FROM storage_namespaces WHERE namespace = @namespace AND region = @region FOR UPDATE;

-- name: InsertStorageCharge :execrows
INSERT INTO storage_charges (namespace, region, day, owner_user_id, used_bytes, price_per_gib_month_minor, amount_minor, currency)
VALUES (@namespace, @region, @day, @owner_user_id, @used_bytes, @price_per_gib_month_minor, @amount_minor, @currency)
ON CONFLICT DO NOTHING;

-- name: SetStorageCharged :exec
UPDATE storage_namespaces SET charged_through = @day, charge_remainder = @charge_remainder
WHERE namespace = @namespace AND region = @region;

-- name: ListStorageCharges :many
SELECT * FROM storage_charges WHERE owner_user_id = @owner_user_id ORDER BY day, region;

-- name: ListStorageChargesPage :many
-- A user's daily storage charges whose UTC day overlaps [since, until),
-- newest day first, for the billing read model.
SELECT * FROM storage_charges
WHERE owner_user_id = @owner_user_id
  AND (sqlc.narg(since)::timestamptz IS NULL OR ((day + 1)::timestamp AT TIME ZONE 'UTC') > sqlc.narg(since)::timestamptz)
  AND (sqlc.narg(until)::timestamptz IS NULL OR (day::timestamp AT TIME ZONE 'UTC') < sqlc.narg(until)::timestamptz)
  AND (sqlc.narg(cursor_day)::date IS NULL
       OR (day, region, namespace) < (sqlc.narg(cursor_day)::date, sqlc.narg(cursor_region)::text, sqlc.narg(cursor_namespace)::text))
ORDER BY day DESC, region DESC, namespace DESC
LIMIT @page_limit;
