-- name: InsertOutbox :exec
INSERT INTO outbox (id, type, subject, payload) VALUES (@id, @type, @subject, @payload);

-- name: ClaimOutbox :many
-- The next unpublished rows in order, locked so other relay replicas skip
-- them; the caller publishes them and marks them in the same transaction.
SELECT id, seq, type, subject, payload, created_at FROM outbox
WHERE published_at IS NULL
ORDER BY seq
LIMIT @batch
FOR UPDATE SKIP LOCKED;

-- name: DeletePublishedOutbox :execrows
DELETE FROM outbox WHERE published_at < now() - @keep::interval;

-- name: MarkApplied :execrows
-- Records that consumer applied event_id; 0 rows means it already had.
INSERT INTO consumer_applied (consumer, event_id) VALUES (@consumer, @event_id)
ON CONFLICT DO NOTHING;

-- name: InsertDeadLetter :exec
INSERT INTO dead_letters (consumer, event_id, subject, payload, error, deliveries)
VALUES (@consumer, @event_id, @subject, @payload, @error, @deliveries);

-- name: ListDeadLetters :many
SELECT * FROM dead_letters
WHERE (sqlc.narg(cursor_id)::bigint IS NULL OR id < sqlc.narg(cursor_id)::bigint)
ORDER BY id DESC
LIMIT @page_limit;

-- name: MarkOutboxPublishedLag :many
-- Marks rows published and returns each row's commit→publish lag measured
-- on the database clock alone, so relay host clock skew cannot distort it.
UPDATE outbox SET published_at = clock_timestamp() WHERE id = ANY(@ids::uuid[])
RETURNING (EXTRACT(EPOCH FROM published_at - created_at))::float8 AS lag_seconds;

-- name: CountPendingOutbox :one
SELECT count(*) FROM outbox WHERE published_at IS NULL;

-- name: DeleteOldApplied :execrows
-- Applied records only need to outlive the stream's retention: an event
-- older than that can no longer be redelivered.
DELETE FROM consumer_applied WHERE applied_at < now() - @keep::interval;

-- name: CommitWithoutWaiting :exec
-- Lets the transaction's COMMIT return before its WAL is flushed (for this
-- transaction only). Only for work that a crash may undo harmlessly: the
-- relay's marks, whose loss means a republish the stream drops.
SELECT set_config('synchronous_commit', 'off', true);

-- name: SynchronousCommit :one
-- The transaction's synchronous_commit, for tests of CommitWithoutWaiting.
SELECT current_setting('synchronous_commit')::text;
