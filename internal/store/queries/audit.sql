-- name: InsertAuditLog :exec
INSERT INTO audit_logs (actor_user_id, action, target_type, target_id, metadata, correlation_id, client_ip)
VALUES (@actor_user_id, @action, @target_type, @target_id, @metadata, @correlation_id, @client_ip);

-- name: ListAuditLogs :many
-- action_prefix is checked by the caller to hold only [a-z0-9_.], so it
-- carries no LIKE wildcard.
SELECT * FROM audit_logs
WHERE (sqlc.narg(actor_user_id)::uuid IS NULL OR actor_user_id = sqlc.narg(actor_user_id)::uuid)
  AND (sqlc.narg(action)::text IS NULL OR action = sqlc.narg(action)::text)
  AND (sqlc.narg(action_prefix)::text IS NULL OR action LIKE sqlc.narg(action_prefix)::text || '%')
  AND (sqlc.narg(target_type)::text IS NULL OR target_type = sqlc.narg(target_type)::text)
  AND (sqlc.narg(target_id)::text IS NULL OR target_id = sqlc.narg(target_id)::text)
  AND (sqlc.narg(since)::timestamptz IS NULL OR occurred_at >= sqlc.narg(since)::timestamptz)
  AND (sqlc.narg(until)::timestamptz IS NULL OR occurred_at < sqlc.narg(until)::timestamptz)
  AND (sqlc.narg(cursor_id)::bigint IS NULL OR id < sqlc.narg(cursor_id)::bigint)
ORDER BY id DESC
LIMIT @page_limit;

-- name: InsertAuditLogAndOutbox :exec
-- A state change's audit row and its event in one round trip: the
-- lifecycle writes both for every transition.
WITH audit AS (
    INSERT INTO audit_logs (actor_user_id, action, target_type, target_id, metadata, correlation_id, client_ip)
    VALUES (@actor_user_id, @action, @target_type, @target_id, @metadata, @correlation_id, @client_ip)
)
INSERT INTO outbox (id, type, subject, payload) VALUES (@event_id, @event_type, @event_subject, @event_payload);

-- name: CountAuditLogs :one
-- ListAuditLogs' filters without the page: the total a list shows.
SELECT count(*) FROM audit_logs
WHERE (sqlc.narg(actor_user_id)::uuid IS NULL OR actor_user_id = sqlc.narg(actor_user_id)::uuid)
  AND (sqlc.narg(action)::text IS NULL OR action = sqlc.narg(action)::text)
  AND (sqlc.narg(action_prefix)::text IS NULL OR action LIKE sqlc.narg(action_prefix)::text || '%')
  AND (sqlc.narg(target_type)::text IS NULL OR target_type = sqlc.narg(target_type)::text)
  AND (sqlc.narg(target_id)::text IS NULL OR target_id = sqlc.narg(target_id)::text)
  AND (sqlc.narg(since)::timestamptz IS NULL OR occurred_at >= sqlc.narg(since)::timestamptz)
  AND (sqlc.narg(until)::timestamptz IS NULL OR occurred_at < sqlc.narg(until)::timestamptz);
