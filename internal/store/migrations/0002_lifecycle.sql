-- 0002: the allocation lifecycle, the transactional outbox and its
-- consumers' bookkeeping, the ledger, usage, policies and idempotency keys.

-- An allocation holds specific GPUs on one node from `active` until
-- `released`. status is the one lifecycle column and changes only through
-- the transition table in package allocation; desired_state is what the API
-- asked for, observed_state what the runtime last reported.
CREATE TABLE allocations (
    id                   uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id              uuid        NOT NULL REFERENCES users (id),
    sku_id               text        NOT NULL REFERENCES skus (id),
    node_id              uuid        REFERENCES nodes (id),
    name                 text        NOT NULL DEFAULT '',
    status               text        NOT NULL DEFAULT 'requested'
        CHECK (status IN ('requested', 'provisioning', 'active', 'releasing', 'released', 'failed', 'release_failed')),
    desired_state        text        NOT NULL DEFAULT 'active' CHECK (desired_state IN ('active', 'released')),
    observed_state       text        NOT NULL DEFAULT '',
    gpus                 jsonb       NOT NULL DEFAULT '[]'::jsonb, -- [{index, uuid}] as placed
    gpu_count            integer     NOT NULL CHECK (gpu_count > 0),
    price_per_hour_minor bigint      NOT NULL CHECK (price_per_hour_minor >= 0), -- price when created
    currency             text        NOT NULL,
    failure_reason       text        NOT NULL DEFAULT '',
    release_reason       text        NOT NULL DEFAULT '',
    attempts             integer     NOT NULL DEFAULT 0,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    status_changed_at    timestamptz NOT NULL DEFAULT now(),
    active_at            timestamptz,
    released_at          timestamptz
);
CREATE INDEX allocations_user_idx ON allocations (user_id, created_at DESC, id DESC);
CREATE INDEX allocations_created_idx ON allocations (created_at DESC, id DESC);
CREATE INDEX allocations_transitional_idx ON allocations (status_changed_at)
    WHERE status IN ('requested', 'provisioning', 'releasing');
CREATE INDEX allocations_active_user_idx ON allocations (user_id) WHERE status = 'active';

ALTER TABLE gpus ADD CONSTRAINT gpus_allocation_fk
    FOREIGN KEY (allocation_id) REFERENCES allocations (id) ON DELETE SET NULL;
CREATE INDEX gpus_allocation_idx ON gpus (allocation_id) WHERE allocation_id IS NOT NULL;

-- Transactional outbox: a state change and its event commit together; the
-- relay publishes rows in seq order with Nats-Msg-Id = id.
CREATE TABLE outbox (
    id           uuid        PRIMARY KEY,
    seq          bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
    type         text        NOT NULL,
    subject      text        NOT NULL,
    payload      jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    published_at timestamptz
);
CREATE INDEX outbox_pending_idx ON outbox (seq) WHERE published_at IS NULL;

-- What each consumer has applied, so a redelivered event changes nothing.
CREATE TABLE consumer_applied (
    consumer   text        NOT NULL,
    event_id   uuid        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Events a consumer gave up on after its redeliveries, for an operator.
CREATE TABLE dead_letters (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consumer    text        NOT NULL,
    event_id    text        NOT NULL,
    subject     text        NOT NULL,
    payload     bytea       NOT NULL,
    error       text        NOT NULL,
    deliveries  integer     NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- The ledger: append-only, double-entry, integer minor units. A balance is
-- the sum of an account's entries; balance_minor is a running total kept in
-- the same transaction as each entry (tests check it always equals the sum).
CREATE TABLE ledger_accounts (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    kind          text        NOT NULL CHECK (kind IN ('user', 'revenue', 'funding')),
    user_id       uuid        REFERENCES users (id),
    currency      text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    balance_minor bigint      NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'user') = (user_id IS NOT NULL))
);
CREATE UNIQUE INDEX ledger_accounts_user_key ON ledger_accounts (user_id, currency) WHERE kind = 'user';
CREATE UNIQUE INDEX ledger_accounts_platform_key ON ledger_accounts (kind, currency) WHERE kind <> 'user';

CREATE TABLE ledger_transactions (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    idempotency_key text        NOT NULL UNIQUE,
    kind            text        NOT NULL CHECK (kind IN ('usage', 'adjustment', 'payment')),
    user_id         uuid        REFERENCES users (id),
    allocation_id   uuid        REFERENCES allocations (id),
    actor_user_id   uuid,
    memo            text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_transactions_user_idx ON ledger_transactions (user_id, created_at DESC);
CREATE INDEX ledger_transactions_allocation_idx ON ledger_transactions (allocation_id) WHERE allocation_id IS NOT NULL;

CREATE TABLE ledger_entries (
    id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id uuid        NOT NULL REFERENCES ledger_transactions (id),
    account_id     uuid        NOT NULL REFERENCES ledger_accounts (id),
    amount_minor   bigint      NOT NULL CHECK (amount_minor <> 0),
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_entries_account_idx ON ledger_entries (account_id);
CREATE INDEX ledger_entries_transaction_idx ON ledger_entries (transaction_id);

-- Ledger rows are never changed or removed.
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger rows are append-only (% on %)', TG_OP, TG_TABLE_NAME;
END $$;
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_transactions_append_only BEFORE UPDATE OR DELETE ON ledger_transactions
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

-- One usage window per allocation: opened at active, closed at released.
-- charged_minor is what has been debited so far (interim debits included).
CREATE TABLE usage_records (
    allocation_id        uuid        PRIMARY KEY REFERENCES allocations (id),
    user_id              uuid        NOT NULL REFERENCES users (id),
    sku_id               text        NOT NULL,
    price_per_hour_minor bigint      NOT NULL,
    currency             text        NOT NULL,
    started_at           timestamptz NOT NULL,
    ended_at             timestamptz,
    charged_minor        bigint      NOT NULL DEFAULT 0,
    charged_seconds      bigint      NOT NULL DEFAULT 0,
    metered_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX usage_records_user_idx ON usage_records (user_id, started_at DESC, allocation_id);
CREATE INDEX usage_records_open_idx ON usage_records (metered_at) WHERE ended_at IS NULL;

-- Tunables an operator may change at run time (thresholds in seconds).
CREATE TABLE policies (
    key        text        PRIMARY KEY,
    value      bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO policies (key, value) VALUES
    ('billing.low_balance_runway_seconds', 1800),
    ('billing.auto_release_runway_seconds', 300),
    ('billing.meter_interval_seconds', 60);

-- When a balance alert last fired per user, so alerts fire on crossing,
-- not on every meter tick.
CREATE TABLE balance_alerts (
    user_id    uuid        NOT NULL REFERENCES users (id),
    kind       text        NOT NULL,
    fired_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, kind)
);

-- Idempotency-Key records, per user. The response is stored in the same
-- transaction as the change it answers, after redaction.
CREATE TABLE idempotency_keys (
    user_id       uuid        NOT NULL REFERENCES users (id),
    key           text        NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    route         text        NOT NULL,
    request_hash  bytea       NOT NULL,
    status        integer     NOT NULL,
    response_body bytea       NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- Outbox wake-up (added with package outbox): relays LISTEN on 'outbox' so
-- a committed event is published in milliseconds instead of at the next
-- poll. Statement-level, because NOTIFY is only a wake-up and one per
-- insert statement is enough; relays still poll, so a missed notify delays
-- and never loses an event.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox', '');
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- Free healthy GPUs per (node, model), kept by a trigger on gpus, so
-- placement and the SKU list read a small indexed table instead of counting
-- every GPU of the fleet on each request. Whatever changes a GPU (a
-- reservation, a release, a health report, an agent's inventory) keeps it
-- right in the same transaction.
CREATE TABLE node_gpu_capacity (
    node_id uuid    NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    model   text    NOT NULL,
    free    integer NOT NULL DEFAULT 0 CHECK (free >= 0),
    PRIMARY KEY (node_id, model)
);
CREATE INDEX node_gpu_capacity_model_idx ON node_gpu_capacity (model, free) WHERE free > 0;

INSERT INTO node_gpu_capacity (node_id, model, free)
SELECT node_id, model, count(*) FILTER (WHERE allocation_id IS NULL AND health = 'healthy')
FROM gpus GROUP BY node_id, model;

CREATE FUNCTION gpus_track_capacity() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was_free boolean := TG_OP <> 'INSERT' AND OLD.allocation_id IS NULL AND OLD.health = 'healthy';
    is_free  boolean := TG_OP <> 'DELETE' AND NEW.allocation_id IS NULL AND NEW.health = 'healthy';
BEGIN
    IF TG_OP = 'UPDATE' AND was_free = is_free AND OLD.node_id = NEW.node_id AND OLD.model = NEW.model THEN
        RETURN NULL; -- nothing that counts changed
    END IF;
    IF was_free THEN
        UPDATE node_gpu_capacity SET free = free - 1 WHERE node_id = OLD.node_id AND model = OLD.model;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO node_gpu_capacity (node_id, model, free) VALUES (NEW.node_id, NEW.model, CASE WHEN is_free THEN 1 ELSE 0 END)
        ON CONFLICT (node_id, model) DO UPDATE SET free = node_gpu_capacity.free + EXCLUDED.free;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER gpus_track_capacity AFTER INSERT OR UPDATE OR DELETE ON gpus
    FOR EACH ROW EXECUTE FUNCTION gpus_track_capacity();
