-- name: EnqueueMail :execrows
-- The mail of a stored notification, unless the user opted out of its
-- kind or has no address; once per notification.
INSERT INTO mail_outbox (id, notification_id, user_id, kind, to_addr, subject, text_body, html_body)
SELECT @id, @notification_id, u.id, @kind, u.email, @subject, @text_body, @html_body
FROM users u
WHERE u.id = @user_id AND u.deleted_at IS NULL AND u.email LIKE '%@%'
  AND NOT EXISTS (SELECT 1 FROM notification_email_optouts o WHERE o.user_id = u.id AND o.kind = @kind)
ON CONFLICT (notification_id) DO NOTHING;

-- name: ClaimMail :many
-- Due mail, locked so other replicas' mailers skip it; the caller sends
-- each and marks it sent or failed in the same transaction.
SELECT * FROM mail_outbox
WHERE sent_at IS NULL AND next_attempt_at <= @now::timestamptz
ORDER BY next_attempt_at, id
LIMIT @batch
FOR UPDATE SKIP LOCKED;

-- name: MarkMailSent :exec
UPDATE mail_outbox SET sent_at = @now::timestamptz, attempts = attempts + 1, last_error = '' WHERE id = @id;

-- name: MarkMailFailed :exec
UPDATE mail_outbox SET attempts = attempts + 1, last_error = @last_error, next_attempt_at = @next_attempt_at
WHERE id = @id;

-- name: CountPendingMail :one
SELECT count(*) FROM mail_outbox WHERE sent_at IS NULL;

-- name: DeleteSentMail :execrows
DELETE FROM mail_outbox WHERE sent_at < now() - @keep::interval;

-- name: ListEmailOptOuts :many
SELECT kind FROM notification_email_optouts WHERE user_id = @user_id ORDER BY kind;

-- name: DeleteEmailOptOuts :exec
DELETE FROM notification_email_optouts WHERE user_id = @user_id;

-- name: InsertEmailOptOut :exec
INSERT INTO notification_email_optouts (user_id, kind) VALUES (@user_id, @kind) ON CONFLICT DO NOTHING;
