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

-- name: ListAllSSHKeysOfUser :many
-- Every key of one user (at most the cap), oldest first: what a node
-- writes into the allocation user's authorized_keys.
SELECT * FROM ssh_keys WHERE user_id = @user_id ORDER BY created_at, id;

-- name: DeleteSSHKey :one
DELETE FROM ssh_keys WHERE id = @id AND user_id = @user_id
RETURNING *;
