-- 0085: spend limits, checked when an allocation is created (package
-- limits). One row per user an admin has given limits; a NULL column falls
-- back to the platform default (--limit-* flags; unlimited unless set).
-- Teams will own rows too: team_id is here, nullable and without a foreign
-- key until the teams table exists, and exactly one owner is set.
CREATE TABLE spend_limits (
    id                      uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id                 uuid        REFERENCES users (id) ON DELETE CASCADE,
    team_id                 uuid,
    max_concurrent_gpus     bigint      CHECK (max_concurrent_gpus >= 0),
    max_monthly_spend_minor bigint      CHECK (max_monthly_spend_minor >= 0),
    max_burn_per_hour_minor bigint      CHECK (max_burn_per_hour_minor >= 0),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    updated_by              uuid,
    CHECK (num_nonnulls(user_id, team_id) = 1),
    UNIQUE (user_id),
    UNIQUE (team_id)
);
