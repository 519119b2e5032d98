-- name: CreateUser :one
INSERT INTO users (username, email, role, password_hash)
VALUES (@username, @email, @role, @password_hash)
RETURNING *;

-- name: GetUser :one
-- A person: a team's account row is not a user anyone can sign in as or
-- administer as one.
SELECT * FROM users WHERE id = @id AND kind = 'person';

-- name: GetUserForUpdate :one
-- Locks the user's row for a change of role.
SELECT * FROM users WHERE id = @id AND kind = 'person' FOR UPDATE;

-- name: SetUserRole :one
UPDATE users SET role = @role WHERE id = @id RETURNING *;

-- name: GetUserByUsername :one
-- A person by username; a team's account row never signs in.
SELECT * FROM users WHERE username = @username AND kind = 'person';

-- name: ListUsers :many
-- Keyset pagination, newest first; cursor is the last row's (created_at, id).
-- search is a case-insensitive substring of username or email, matched with
-- strpos so that % and _ in it are plain characters, not LIKE wildcards.
SELECT * FROM users
WHERE kind = 'person'
  AND (sqlc.narg(role)::text IS NULL OR role = sqlc.narg(role)::text)
  AND (sqlc.narg(search)::text IS NULL
       OR strpos(username, lower(sqlc.narg(search)::text)) > 0
       OR strpos(lower(email), lower(sqlc.narg(search)::text)) > 0)
  AND (sqlc.narg(cursor_time)::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg(cursor_time)::timestamptz, sqlc.narg(cursor_id)::uuid))
ORDER BY created_at DESC, id DESC
LIMIT @page_limit;

-- name: SetUserPassword :exec
UPDATE users SET password_hash = @password_hash, updated_at = now() WHERE id = @id;

-- name: CountUsers :one
SELECT count(*) FROM users WHERE kind = 'person';

-- name: SetUserEmail :one
UPDATE users SET email = @email, updated_at = now() WHERE id = @id RETURNING *;

-- name: SuspendUser :one
UPDATE users SET suspended_at = COALESCE(suspended_at, now()), suspension_reason = @reason, updated_at = now()
WHERE id = @id RETURNING *;

-- name: UnsuspendUser :one
UPDATE users SET suspended_at = NULL, suspension_reason = '', updated_at = now()
WHERE id = @id RETURNING *;

-- name: LockUserStanding :one
-- Taken by a create (FOR SHARE) so it serialises with a suspension or a
-- deletion (which lock the row FOR UPDATE).
SELECT suspended_at, deleted_at FROM users WHERE id = @id FOR SHARE;

-- name: CountUserHeldAllocations :one
-- Allocations that are not over: everything but released and failed.
SELECT count(*) FROM allocations WHERE user_id = @user_id AND status NOT IN ('released', 'failed');

-- name: ListUserLiveAllocationIDs :many
-- What a suspension that releases allocations releases.
SELECT id FROM allocations
WHERE user_id = @user_id AND status IN ('requested', 'provisioning', 'active')
ORDER BY created_at;

-- name: LockUserBalances :many
-- Every ledger account of the user, locked, so no posting lands while a
-- deletion decides.
SELECT currency, balance_minor FROM ledger_accounts
WHERE kind = 'user' AND user_id = @user_id
ORDER BY currency
FOR UPDATE;

-- name: AnonymiseUser :one
-- Personal data out, the row (and the ledger and audit rows that name it)
-- kept. The password hash is one no password matches.
UPDATE users SET username = @username, email = @email, password_hash = '!deleted',
    suspended_at = COALESCE(suspended_at, now()), deleted_at = now(), updated_at = now()
WHERE id = @id RETURNING *;

-- name: DeleteUserRefreshTokens :many
-- Returns the sessions (families) removed, for the deny-list.
DELETE FROM refresh_tokens WHERE user_id = @user_id RETURNING family_id;

-- name: DeleteUserSSHKeys :execrows
DELETE FROM ssh_keys WHERE user_id = @user_id;

-- name: DeleteUserNotifications :execrows
DELETE FROM notifications WHERE user_id = @user_id;

-- name: DeleteUserPasswordResets :execrows
DELETE FROM password_resets WHERE user_id = @user_id;

-- name: SpendUnusedPasswordResets :execrows
-- A new link replaces the older unused ones.
UPDATE password_resets SET used_at = now() WHERE user_id = @user_id AND used_at IS NULL;

-- name: InsertPasswordReset :one
INSERT INTO password_resets (user_id, token_hash, created_by, expires_at)
VALUES (@user_id, @token_hash, @created_by, @expires_at)
RETURNING *;

-- name: GetPasswordResetForUpdate :one
SELECT * FROM password_resets WHERE token_hash = @token_hash FOR UPDATE;

-- name: SpendPasswordReset :exec
UPDATE password_resets SET used_at = now() WHERE id = @id;

-- name: DeleteStalePasswordResets :execrows
-- Housekeeping: links spent or expired a day ago are of no further use.
DELETE FROM password_resets WHERE COALESCE(used_at, expires_at) < now() - interval '1 day';
