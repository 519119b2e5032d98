-- 0080: money paid in through Stripe Checkout (package payments).
--
-- payments is one top-up: one Checkout Session, created by us, matched by
-- its session id in every webhook. Its credit, refunds and dispute freezes
-- are ledger postings whose idempotency keys name the payment, so each
-- lands once; refunded_minor and disputed_minor are what the ledger holds
-- of them (booked), so a cumulative amount from Stripe books only the part
-- not yet booked. team_id is for teams (not yet wired: no foreign key).

CREATE TABLE stripe_customers (
    user_id     uuid        PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    customer_id text        NOT NULL UNIQUE CHECK (length(customer_id) BETWEEN 1 AND 255),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE payments (
    id                         uuid        PRIMARY KEY, -- UUIDv7: ordered by creation
    user_id                    uuid        NOT NULL REFERENCES users (id),
    team_id                    uuid,
    amount_minor               bigint      NOT NULL CHECK (amount_minor > 0),
    currency                   text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    status                     text        NOT NULL DEFAULT 'pending' CHECK (status IN (
        'pending', 'succeeded', 'failed', 'expired', 'refunded', 'partially_refunded', 'disputed', 'failed_reconcile')),
    stripe_checkout_session_id text        NOT NULL UNIQUE,
    stripe_customer_id         text        NOT NULL,
    stripe_payment_intent_id   text,
    checkout_url               text        NOT NULL DEFAULT '',
    expires_at                 timestamptz NOT NULL,
    credited_at                timestamptz,
    refunded_minor             bigint      NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0),
    disputed_minor             bigint      NOT NULL DEFAULT 0 CHECK (disputed_minor >= 0),
    dispute_id                 text,
    dispute_status             text,
    mismatch                   text        NOT NULL DEFAULT '',
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_user_idx ON payments (user_id, id DESC);
CREATE INDEX payments_status_idx ON payments (status, id DESC);
CREATE UNIQUE INDEX payments_payment_intent_key ON payments (stripe_payment_intent_id) WHERE stripe_payment_intent_id IS NOT NULL;

-- Every verified webhook event, by Stripe's id: a redelivery finds its row.
-- payment_intent and applied keep a charge or dispute event that came
-- before the session it belongs to completed; the completion applies it.
CREATE TABLE payment_events (
    id             text        PRIMARY KEY,
    type           text        NOT NULL,
    payment_id     uuid        REFERENCES payments (id),
    payment_intent text,
    applied        boolean     NOT NULL DEFAULT false,
    payload        jsonb       NOT NULL,
    created        timestamptz NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_events_waiting_idx ON payment_events (payment_intent) WHERE NOT applied;

-- Refunds booked against a payment: by an admin here (source 'admin'), or
-- found in a charge.refunded event (source 'stripe', the part of the
-- cumulative amount_refunded not yet booked).
CREATE TABLE payment_refunds (
    id               uuid        PRIMARY KEY,
    payment_id       uuid        NOT NULL REFERENCES payments (id),
    stripe_refund_id text        UNIQUE,
    amount_minor     bigint      NOT NULL CHECK (amount_minor > 0),
    reason           text        NOT NULL DEFAULT '',
    source           text        NOT NULL CHECK (source IN ('admin', 'stripe')),
    actor_user_id    uuid,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_refunds_payment_idx ON payment_refunds (payment_id, created_at);
