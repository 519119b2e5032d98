-- name: GetIdempotencyKey :one
SELECT * FROM idempotency_keys WHERE user_id = @user_id AND key = @key;

-- name: InsertIdempotencyKey :execrows
-- 0 rows: another request with the same key committed first (a concurrent
-- one is waited for: the insert blocks on the key until it ends).
INSERT INTO idempotency_keys (user_id, key, route, request_hash, status, response_body)
VALUES (@user_id, @key, @route, @request_hash, @status, @response_body)
ON CONFLICT (user_id, key) DO NOTHING;

-- name: DeleteOldIdempotencyKeys :execrows
DELETE FROM idempotency_keys WHERE created_at < now() - @keep::interval;
