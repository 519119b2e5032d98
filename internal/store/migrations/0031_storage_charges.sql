-- 0031: storage pricing. A region priced in --storage-config charges each
-- namespace once per UTC day through the ledger; storage_charges keeps
-- what each day's charge was made of. charge_remainder carries the
-- fraction of a minor unit a day's charge did not reach, in units of
-- 1/(2^30 * 30) minor units (a GiB-month of 30 days), so that small
-- namespaces are charged exactly over time rather than rounded to zero
-- every day.
ALTER TABLE storage_namespaces
    ADD COLUMN charged_through  date,
    ADD COLUMN charge_remainder bigint NOT NULL DEFAULT 0 CHECK (charge_remainder >= 0);

CREATE TABLE storage_charges (
    namespace                 text        NOT NULL,
    region                    text        NOT NULL,
    day                       date        NOT NULL,
    owner_user_id             uuid        NOT NULL REFERENCES users,
    used_bytes                bigint      NOT NULL CHECK (used_bytes >= 0),
    price_per_gib_month_minor bigint      NOT NULL CHECK (price_per_gib_month_minor >= 0),
    amount_minor              bigint      NOT NULL CHECK (amount_minor >= 0),
    currency                  text        NOT NULL,
    created_at                timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (namespace, region, day)
);

CREATE INDEX storage_charges_owner ON storage_charges (owner_user_id, day);
