-- name: InsertAPIToken :one
INSERT INTO api_tokens (user_id, name, token_hash, scopes, expires_at)
VALUES (@user_id, @name, @token_hash, @scopes::text[], @expires_at)
RETURNING *;

-- name: GetAPITokenAuth :one
-- The token of @token_hash with what a request needs of its user: the
-- current role (a demoted admin's token loses admin at once) and whether
-- the user is suspended or deleted.
SELECT t.id, t.user_id, t.scopes, t.expires_at, t.revoked_at, t.last_used_at,
       u.username, u.role, u.suspended_at, u.deleted_at
FROM api_tokens t JOIN users u ON u.id = t.user_id
WHERE t.token_hash = @token_hash;

-- name: TouchAPIToken :exec
-- Records a use unless one was recorded within the last minute, so a busy
-- token costs a write at most once a minute whichever replica serves it.
UPDATE api_tokens SET last_used_at = now(), last_used_ip = @used_ip::text
WHERE id = @id AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute');

-- name: ListAPITokens :many
-- The user's tokens that are not revoked, newest first (expired ones stay
-- listed until revoked, so their owner sees why a script stopped).
SELECT * FROM api_tokens
WHERE user_id = @user_id AND revoked_at IS NULL
ORDER BY created_at DESC, id DESC;

-- name: CountActiveAPITokens :one
SELECT count(*) FROM api_tokens WHERE user_id = @user_id AND revoked_at IS NULL;

-- name: RevokeAPIToken :one
UPDATE api_tokens SET revoked_at = now()
WHERE id = @id AND user_id = @user_id AND revoked_at IS NULL
RETURNING *;

