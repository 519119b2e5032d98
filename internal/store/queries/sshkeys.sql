-- name: LockUserSSHKeys :exec
-- Serialises adds for one user so the per-user cap holds under concurrency.
SELECT pg_advisory_xact_lock(hashtextextended('ssh_keys:' || sqlc.arg(user_id)::uuid::text, 0));

-- name: CountSSHKeys :one
SELECT count(*) FROM ssh_keys WHERE user_id = @user_id;

-- name: CreateSSHKey :one
INSERT INTO ssh_keys (user_id, name, public_key, fingerprint, key_type, bits)
VALUES (@user_id, @name, @public_key, @fingerprint, @key_type, @bits)
RETURNING *;

-- name: ListSSHKeys :many
-- One user's keys, newest first; keyset pagination on (created_at, id).
SELECT * FROM ssh_keys
WHERE user_id = @user_id
  AND (sqlc.narg(cursor_time)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(cursor_time)::timestamptz, sqlc.narg(cursor_id)::uuid))
ORDER BY created_at DESC, id DESC
LIMIT @page_limit;

-- name: DeleteSSHKey :one
DELETE FROM ssh_keys WHERE id = @id AND user_id = @user_id
RETURNING *;

-- name: CountUserSSHKeysByIDs :one
-- How many of ids are the user's keys: a create naming ssh_key_ids checks
-- that all are.
SELECT count(*) FROM ssh_keys WHERE user_id = @user_id AND id = ANY(@ids::uuid[]);

-- name: AllocationAuthorizedKeys :many
-- The keys an allocation installs: those it named (ssh_key_ids), or all of
-- its owner's when it named none (a team's allocation: all of its current
-- members'); oldest first.
SELECT k.public_key FROM ssh_keys k JOIN allocations a ON may_act_for(a.user_id, k.user_id)
WHERE a.id = @allocation_id AND (a.ssh_key_ids IS NULL OR k.id = ANY(a.ssh_key_ids))
ORDER BY k.created_at, k.id;

-- name: ListUserActiveAllocations :many
-- Where a change of the user's keys must go: their active allocations and
-- those of their teams (for a team's id: the team's).
SELECT * FROM allocations
WHERE (allocations.user_id = @user_id OR allocations.user_id IN (SELECT m.team_id FROM team_members m WHERE m.user_id = @user_id))
  AND status = 'active' AND node_id IS NOT NULL
ORDER BY created_at;
