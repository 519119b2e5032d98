-- 0012: admin controls over users. A suspended user cannot sign in, refresh
-- or create, and every token they held is refused (403 account_suspended).
-- A deleted user keeps its row (the ledger and the audit log refer to it)
-- with its personal data anonymised. Password reset links are one-time and
-- stored only as SHA-256 hashes.
ALTER TABLE users
    ADD COLUMN suspended_at      timestamptz,
    ADD COLUMN suspension_reason text NOT NULL DEFAULT '',
    ADD COLUMN deleted_at        timestamptz;

CREATE TABLE password_resets (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  bytea       NOT NULL UNIQUE,
    created_by  uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX password_resets_user_idx ON password_resets (user_id) WHERE used_at IS NULL;
