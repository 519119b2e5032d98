-- 0060: API tokens. A token acts as its user with at most its scopes; only
-- the SHA-256 of its secret is stored, so the secret is shown once, at
-- creation. Revoking sets revoked_at; every request reads the row, so a
-- revocation holds on every replica from the next request. last_used_* is
-- written at most once a minute per token.
CREATE TABLE api_tokens (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text        NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    token_hash   bytea       NOT NULL UNIQUE,
    scopes       text[]      NOT NULL CHECK (cardinality(scopes) > 0
                                 AND scopes <@ ARRAY['read', 'allocations', 'billing', 'admin']),
    expires_at   timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    last_used_ip text,
    revoked_at   timestamptz
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id, created_at DESC) WHERE revoked_at IS NULL;
