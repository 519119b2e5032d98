-- 0040: catalogue administration. sku_prices is a SKU's price history:
-- one row per price it has had, the first written when the SKU was
-- created, each later one in the transaction that changed the price (the
-- SKU row locked, so two admins changing it at once each record the price
-- the other left). An allocation keeps the price it was created with
-- (allocations.price_per_hour_minor); this table is what an admin reads.
-- changed_by is NULL for rows the platform wrote (the seed, this backfill).

CREATE TABLE sku_prices (
    id                   bigserial   PRIMARY KEY,
    sku_id               text        NOT NULL REFERENCES skus (id) ON DELETE CASCADE,
    price_per_hour_minor bigint      NOT NULL CHECK (price_per_hour_minor >= 0),
    previous_price_minor bigint      CHECK (previous_price_minor >= 0),
    changed_by           uuid        REFERENCES users (id),
    changed_at           timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX sku_prices_sku_idx ON sku_prices (sku_id, id DESC);

-- SKUs that exist already start their history at their creation.
INSERT INTO sku_prices (sku_id, price_per_hour_minor, changed_at)
SELECT id, price_per_hour_minor, created_at FROM skus;

-- A region in use is refused deletion by counting its SKUs; nodes have
-- nodes_region_status_idx already.
CREATE INDEX skus_region_idx ON skus (region);
