-- 0004: how node agents prove who they are. An admin issues a one-time join
-- token for a node; the agent trades it once for its own credential. Both
-- are stored as SHA-256 hashes only.

CREATE TABLE node_join_tokens (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    node_id    uuid        NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    token_hash bytea       NOT NULL UNIQUE,
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX node_join_tokens_node_idx ON node_join_tokens (node_id);

CREATE TABLE node_credentials (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    node_id     uuid        NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    secret_hash bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX node_credentials_node_idx ON node_credentials (node_id) WHERE revoked_at IS NULL;
