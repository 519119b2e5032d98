-- name: GetStripeCustomer :one
SELECT customer_id FROM stripe_customers WHERE user_id = @user_id;

-- name: InsertStripeCustomer :one
-- Two first checkouts at once asked Stripe with the same idempotency key,
-- so they carry the same customer; the loser's insert changes nothing and
-- returns no row (on either unique index: naming only user_id as the
-- conflict let a racing insert fail on customer_id's), and it reads the
-- winner's.
INSERT INTO stripe_customers (user_id, customer_id) VALUES (@user_id, @customer_id)
ON CONFLICT DO NOTHING
RETURNING customer_id;

-- name: InsertPayment :one
INSERT INTO payments (id, user_id, team_id, amount_minor, currency, stripe_checkout_session_id,
                      stripe_customer_id, checkout_url, expires_at)
VALUES (@id, @user_id, sqlc.narg(team_id), @amount_minor, @currency, @stripe_checkout_session_id,
        @stripe_customer_id, @checkout_url, @expires_at)
RETURNING *;

-- name: GetPayment :one
SELECT * FROM payments WHERE id = @id;

-- name: LockPaymentBySession :one
SELECT * FROM payments WHERE stripe_checkout_session_id = @stripe_checkout_session_id FOR UPDATE;

-- name: LockPaymentByIntent :one
SELECT * FROM payments WHERE stripe_payment_intent_id = @stripe_payment_intent_id FOR UPDATE;

-- name: LockPayment :one
SELECT * FROM payments WHERE id = @id FOR UPDATE;

-- name: UpdatePayment :one
-- The whole mutable state at once: the caller locked the row and decided.
UPDATE payments SET
    status = @status,
    stripe_payment_intent_id = sqlc.narg(stripe_payment_intent_id),
    credited_at = sqlc.narg(credited_at),
    refunded_minor = @refunded_minor,
    disputed_minor = @disputed_minor,
    dispute_id = sqlc.narg(dispute_id),
    dispute_status = sqlc.narg(dispute_status),
    mismatch = @mismatch,
    updated_at = now()
WHERE id = @id
RETURNING *;

-- name: ListUserPayments :many
-- A user's payments, newest first, after the cursor (uuid.Nil: the first page).
SELECT * FROM payments
WHERE user_id = @user_id
  AND (@after::uuid = '00000000-0000-0000-0000-000000000000' OR id < @after::uuid)
ORDER BY id DESC
LIMIT @lim;

-- name: ListPayments :many
-- Every payment for admins, newest first, with optional filters.
SELECT * FROM payments
WHERE (sqlc.narg(user_id)::uuid IS NULL OR user_id = sqlc.narg(user_id)::uuid)
  AND (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status)::text)
  AND (sqlc.narg(since)::timestamptz IS NULL OR created_at >= sqlc.narg(since)::timestamptz)
  AND (sqlc.narg(until)::timestamptz IS NULL OR created_at < sqlc.narg(until)::timestamptz)
  AND (@after::uuid = '00000000-0000-0000-0000-000000000000' OR id < @after::uuid)
ORDER BY id DESC
LIMIT @lim;

-- name: ListPendingPayments :many
-- What reconciliation looks at besides Stripe's list: every pending payment.
SELECT * FROM payments WHERE status = 'pending' ORDER BY id LIMIT 1000;

-- name: OldestPendingPayment :one
SELECT coalesce(min(created_at), now())::timestamptz FROM payments WHERE status = 'pending';

-- name: InsertPaymentEvent :one
-- A redelivered event inserts nothing and returns no row; a concurrent
-- delivery of the same event waits for the first to commit.
INSERT INTO payment_events (id, type, payment_intent, payload, created)
VALUES (@id, @type, sqlc.narg(payment_intent), @payload, @created)
ON CONFLICT (id) DO NOTHING
RETURNING id;

-- name: MarkPaymentEventApplied :exec
UPDATE payment_events SET applied = true, payment_id = sqlc.narg(payment_id) WHERE id = @id;

-- name: ListWaitingPaymentEvents :many
-- Charge and dispute events that arrived before their session completed.
SELECT id, type, payload FROM payment_events
WHERE payment_intent = @payment_intent AND NOT applied
ORDER BY created, id;

-- name: InsertPaymentRefund :exec
INSERT INTO payment_refunds (id, payment_id, stripe_refund_id, amount_minor, reason, source, actor_user_id)
VALUES (@id, @payment_id, sqlc.narg(stripe_refund_id), @amount_minor, @reason, @source, sqlc.narg(actor_user_id));

-- name: ListPaymentRefunds :many
SELECT * FROM payment_refunds WHERE payment_id = @payment_id ORDER BY created_at, id;

-- name: LockPaymentIntent :exec
-- Orders a charge or dispute event against the completion that records
-- its PaymentIntent (see payments.lockByIntent).
SELECT pg_advisory_xact_lock(hashtextextended('payment_intent:' || @intent::text, 0));

-- name: GetPaymentBySession :one
SELECT * FROM payments WHERE stripe_checkout_session_id = @stripe_checkout_session_id;
