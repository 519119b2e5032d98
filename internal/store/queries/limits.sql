-- name: GetUserSpendLimits :one
SELECT * FROM spend_limits WHERE user_id = @user_id;

-- name: UpsertUserSpendLimits :one
INSERT INTO spend_limits (user_id, max_concurrent_gpus, max_monthly_spend_minor, max_burn_per_hour_minor, updated_by, updated_at)
VALUES (sqlc.arg(user_id), sqlc.narg(max_concurrent_gpus), sqlc.narg(max_monthly_spend_minor), sqlc.narg(max_burn_per_hour_minor), sqlc.arg(updated_by), now())
ON CONFLICT (user_id) DO UPDATE SET
    max_concurrent_gpus     = EXCLUDED.max_concurrent_gpus,
    max_monthly_spend_minor = EXCLUDED.max_monthly_spend_minor,
    max_burn_per_hour_minor = EXCLUDED.max_burn_per_hour_minor,
    updated_by              = EXCLUDED.updated_by,
    updated_at              = now()
RETURNING *;

-- name: LockUserLimits :exec
-- Serialises one user's creates across currencies while a GPU limit is
-- checked (the account lock is per currency). Transaction-scoped.
SELECT pg_advisory_xact_lock(hashtextextended('spend_limits:' || sqlc.arg(user_id)::uuid::text, 0));

-- name: LimitUse :one
-- What a user's limits are measured against, in one read. gpus: GPUs held
-- by allocations requested, provisioning or active (all currencies);
-- burn_per_hour: their hourly price in the currency; month_posted: usage
-- charges (GPU time and storage) debited since month_start in the
-- currency; unbilled_bound: an upper bound of usage accrued and not yet
-- debited (as RunwayFigures). The allocation exclude, when set, is not
-- counted: a create that placed its allocation before the check measures
-- what else runs.
SELECT
    (SELECT COALESCE(SUM(a.gpu_count), 0) FROM allocations a
     WHERE a.user_id = @user_id AND a.status IN ('requested', 'provisioning', 'active')
       AND a.id IS DISTINCT FROM sqlc.narg(exclude)::uuid)::bigint AS gpus,
    (SELECT COALESCE(SUM(a.price_per_hour_minor), 0) FROM allocations a
     WHERE a.user_id = @user_id AND a.currency = @currency
       AND a.status IN ('requested', 'provisioning', 'active')
       AND a.id IS DISTINCT FROM sqlc.narg(exclude)::uuid)::bigint AS burn_per_hour,
    (SELECT COALESCE(-SUM(e.amount_minor), 0)
     FROM ledger_transactions t
     JOIN ledger_entries e ON e.transaction_id = t.id
     JOIN ledger_accounts la ON la.id = e.account_id
     WHERE t.user_id = sqlc.arg(user_id)::uuid AND t.kind = 'usage' AND t.created_at >= @month_start::timestamptz
       AND la.kind = 'user' AND la.user_id = @user_id AND la.currency = @currency)::bigint AS month_posted,
    (SELECT COALESCE(SUM(GREATEST(
         (GREATEST(ceil(extract(epoch FROM sqlc.arg(now)::timestamptz - u.started_at)), 0)::bigint * u.price_per_hour_minor + 3599) / 3600
         + 1 - u.charged_minor, 0)), 0)
     FROM usage_records u
     WHERE u.user_id = @user_id AND u.currency = @currency AND u.ended_at IS NULL)::bigint AS unbilled_bound;

-- name: UserCurrencies :many
-- The currencies a user has an account in or has run something in.
SELECT la.currency FROM ledger_accounts la WHERE la.kind = 'user' AND la.user_id = sqlc.arg(user_id)::uuid
UNION
SELECT a.currency FROM allocations a WHERE a.user_id = sqlc.arg(user_id)::uuid AND a.status IN ('requested', 'provisioning', 'active')
ORDER BY 1;
