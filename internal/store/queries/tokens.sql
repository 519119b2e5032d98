-- name: InsertSigningKey :exec
INSERT INTO signing_keys (kid, algorithm, public_key, private_key_enc)
VALUES (@kid, @algorithm, @public_key, @private_key_enc);

-- name: ListVerifyingKeys :many
-- Keys that may still verify a token: active ones and those retired less
-- than @grace ago.
SELECT * FROM signing_keys
WHERE retired_at IS NULL OR retired_at > now() - @grace::interval
ORDER BY created_at DESC;

-- name: RetireSigningKeys :exec
UPDATE signing_keys SET retired_at = now() WHERE retired_at IS NULL AND kid <> @keep_kid;

-- name: InsertRefreshToken :one
INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at)
VALUES (@user_id, @family_id, @token_hash, @expires_at)
RETURNING *;

-- name: GetRefreshTokenForUpdate :one
SELECT * FROM refresh_tokens WHERE token_hash = @token_hash FOR UPDATE;

-- name: MarkRefreshTokenUsed :exec
-- Spends a token at @used_at and records its successor (sealed) for the
-- reuse grace window.
UPDATE refresh_tokens
SET used_at = @used_at::timestamptz, successor_id = @successor_id, successor_enc = @successor_enc
WHERE id = @id;

-- name: GetRefreshTokenByID :one
SELECT * FROM refresh_tokens WHERE id = @id;

-- name: RevokeRefreshToken :execrows
UPDATE refresh_tokens SET revoked_at = now()
WHERE token_hash = @token_hash AND user_id = @user_id AND revoked_at IS NULL;

-- name: RevokeRefreshFamily :execrows
UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = @family_id AND revoked_at IS NULL;

-- name: RevokeUserSessionsExcept :many
-- Revokes every live refresh token of a user except one family (the
-- caller's own session, or none), for example after a password change, and
-- returns the sessions (families) it ended so their access tokens can be
-- put on the deny-list.
WITH revoked AS (
    UPDATE refresh_tokens SET revoked_at = now()
    WHERE user_id = @user_id AND revoked_at IS NULL
      AND (sqlc.narg(keep_family)::uuid IS NULL OR family_id <> sqlc.narg(keep_family)::uuid)
    RETURNING family_id
)
SELECT DISTINCT family_id FROM revoked;

-- name: DeleteExpiredRefreshTokens :execrows
DELETE FROM refresh_tokens WHERE expires_at < now() - interval '1 day';

-- name: RevokeUserRefreshFamily :execrows
-- Ends one session (a login's refresh-token family) of one user, for logout.
UPDATE refresh_tokens SET revoked_at = now()
WHERE user_id = @user_id AND family_id = @family_id AND revoked_at IS NULL;
