-- name: GetIdempotencyKey :one
SELECT * FROM idempotency_keys WHERE user_id = @user_id AND key = @key;

-- name: InsertIdempotencyKey :exec
-- Sent with the COMMIT (Store.Later). A unique violation of
-- idempotency_keys_pkey: another request with the same key committed first
-- (a concurrent one is waited for: the insert blocks on the key until it
-- ends), and this transaction rolls back.
INSERT INTO idempotency_keys (user_id, key, route, request_hash, status, response_body)
VALUES (@user_id, @key, @route, @request_hash, @status, @response_body);

-- name: DeleteOldIdempotencyKeys :execrows
DELETE FROM idempotency_keys WHERE created_at < now() - @keep::interval;
