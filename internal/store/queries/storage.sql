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
-- Claims the rescan of a namespace whose last scan is older than
-- @stale_seconds, so that one request of many walks it.
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
