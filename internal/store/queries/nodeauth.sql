-- name: InsertJoinToken :one
INSERT INTO node_join_tokens (node_id, token_hash, created_by, expires_at)
VALUES (@node_id, @token_hash, @created_by, @expires_at)
RETURNING *;

-- name: RevokeUnusedJoinTokens :execrows
-- A new join token replaces the node's older unused ones.
UPDATE node_join_tokens SET revoked_at = now()
WHERE node_id = @node_id AND used_at IS NULL AND revoked_at IS NULL;

-- name: GetJoinTokenForUpdate :one
SELECT * FROM node_join_tokens WHERE token_hash = @token_hash FOR UPDATE;

-- name: UseJoinToken :exec
UPDATE node_join_tokens SET used_at = now() WHERE id = @id;

-- name: InsertNodeCredential :one
INSERT INTO node_credentials (node_id, secret_hash) VALUES (@node_id, @secret_hash) RETURNING *;

-- name: GetNodeCredential :one
SELECT * FROM node_credentials WHERE id = @id;

-- name: RevokeNodeCredentials :execrows
UPDATE node_credentials SET revoked_at = now() WHERE node_id = @node_id AND revoked_at IS NULL;
