-- name: LockIdempotencyKey :exec
-- Serialises requests that carry the same key, for the transaction.
SELECT pg_advisory_xact_lock(hashtextextended(@user_id::text || ':' || @key::text, 0));

-- name: GetIdempotencyKey :one
SELECT * FROM idempotency_keys WHERE user_id = @user_id AND key = @key;

-- name: InsertIdempotencyKey :exec
INSERT INTO idempotency_keys (user_id, key, route, request_hash, status, response_body)
VALUES (@user_id, @key, @route, @request_hash, @status, @response_body);

-- name: DeleteOldIdempotencyKeys :execrows
DELETE FROM idempotency_keys WHERE created_at < now() - @keep::interval;
