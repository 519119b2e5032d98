-- 0001: the spine. Users and their credentials, signing keys, inventory
-- (regions, SKUs, nodes, GPUs) and the audit log.

CREATE TABLE users (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    username      text        NOT NULL CHECK (username ~ '^[a-z0-9][a-z0-9._-]{1,62}$'),
    email         text        NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    role          text        NOT NULL CHECK (role IN ('user', 'admin')),
    password_hash text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_username_key ON users (username);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- Platform JWT signing keys. The private half is sealed with AES-256-GCM under
-- the master key (--secret-key-file); every replica reads the same rows, so
-- they all sign and verify alike. A retired key no longer signs but still
-- verifies until the tokens it signed have expired.
CREATE TABLE signing_keys (
    kid             text        PRIMARY KEY,
    algorithm       text        NOT NULL,
    public_key      bytea       NOT NULL,
    private_key_enc bytea       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    retired_at      timestamptz
);

-- Opaque refresh tokens, stored as SHA-256 hashes. Each login starts a
-- family; each refresh spends one token and issues its successor in the same
-- family. Presenting a spent token revokes the whole family.
CREATE TABLE refresh_tokens (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id   uuid        NOT NULL,
    token_hash  bytea       NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id) WHERE revoked_at IS NULL;
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

CREATE TABLE regions (
    id         text        PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE skus (
    id                   text        PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
    name                 text        NOT NULL,
    gpu_model            text        NOT NULL,
    gpu_count            integer     NOT NULL CHECK (gpu_count > 0),
    gpu_memory_mib       integer     NOT NULL CHECK (gpu_memory_mib >= 0),
    vcpu                 integer     NOT NULL CHECK (vcpu >= 0),
    memory_mib           bigint      NOT NULL CHECK (memory_mib >= 0),
    disk_gib             integer     NOT NULL CHECK (disk_gib >= 0),
    price_per_hour_minor bigint      NOT NULL CHECK (price_per_hour_minor >= 0),
    currency             text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    region               text        NOT NULL REFERENCES regions (id),
    active               boolean     NOT NULL DEFAULT true,
    created_at           timestamptz NOT NULL DEFAULT now()
);

-- A node has two independent states: status is observed from its agent;
-- admin_state is set by admins and never touched by a heartbeat. Placement
-- uses only online + active nodes.
CREATE TABLE nodes (
    id                uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    hostname          text        NOT NULL CHECK (hostname ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$' AND length(hostname) <= 253),
    region            text        NOT NULL REFERENCES regions (id),
    labels            jsonb       NOT NULL DEFAULT '{}'::jsonb,
    status            text        NOT NULL DEFAULT 'offline' CHECK (status IN ('online', 'offline')),
    admin_state       text        NOT NULL DEFAULT 'active' CHECK (admin_state IN ('active', 'maintenance', 'disabled')),
    last_heartbeat_at timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX nodes_hostname_key ON nodes (hostname);
CREATE INDEX nodes_region_status_idx ON nodes (region, status);

-- GPU devices on a node, as its agent (or the dev seed) reports them.
-- allocation_id marks a device reserved by an allocation.
CREATE TABLE gpus (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    node_id       uuid        NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    idx           integer     NOT NULL CHECK (idx >= 0),
    uuid          text        NOT NULL,
    model         text        NOT NULL,
    memory_mib    integer     NOT NULL CHECK (memory_mib >= 0),
    health        text        NOT NULL DEFAULT 'healthy' CHECK (health IN ('healthy', 'unhealthy')),
    health_reason text        NOT NULL DEFAULT '',
    allocation_id uuid,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (node_id, idx),
    UNIQUE (uuid)
);
CREATE INDEX gpus_free_idx ON gpus (model, node_id) WHERE allocation_id IS NULL AND health = 'healthy';

CREATE TABLE audit_logs (
    id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at    timestamptz NOT NULL DEFAULT now(),
    actor_user_id  uuid,
    action         text        NOT NULL,
    target_type    text        NOT NULL DEFAULT '',
    target_id      text        NOT NULL DEFAULT '',
    metadata       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    correlation_id text        NOT NULL DEFAULT '',
    client_ip      text        NOT NULL DEFAULT ''
);
CREATE INDEX audit_logs_actor_idx ON audit_logs (actor_user_id, id DESC);
CREATE INDEX audit_logs_action_idx ON audit_logs (action, id DESC);
CREATE INDEX audit_logs_target_idx ON audit_logs (target_id, id DESC);
CREATE INDEX audit_logs_time_idx ON audit_logs (occurred_at);
