-- name: CreateUser :one
INSERT INTO users (username, email, role, password_hash)
VALUES (@username, @email, @role, @password_hash)
RETURNING *;

-- name: GetUser :one
SELECT * FROM users WHERE id = @id;

-- name: GetUserForUpdate :one
-- Locks the user's row for a change of role.
SELECT * FROM users WHERE id = @id FOR UPDATE;

-- name: SetUserRole :one
UPDATE users SET role = @role WHERE id = @id RETURNING *;

-- name: GetUserByUsername :one
SELECT * FROM users WHERE username = @username;

-- name: ListUsers :many
-- Keyset pagination, newest first; cursor is the last row's (created_at, id).
-- search is a case-insensitive substring of username or email, matched with
-- strpos so that % and _ in it are plain characters, not LIKE wildcards.
SELECT * FROM users
WHERE (sqlc.narg(role)::text IS NULL OR role = sqlc.narg(role)::text)
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
SELECT count(*) FROM users;
