-- Catalogue administration: regions, SKUs and their price history,
-- written only by package inventory.

-- name: CreateRegion :one
INSERT INTO regions (id, name) VALUES (@id, @name) RETURNING *;

-- name: GetRegionForUpdate :one
SELECT * FROM regions WHERE id = @id FOR UPDATE;

-- name: RenameRegion :one
UPDATE regions SET name = @name WHERE id = @id RETURNING *;

-- name: DeleteRegion :execrows
DELETE FROM regions WHERE id = @id;

-- name: ListRegionsWithUse :many
-- Every region with how many nodes and SKUs use it.
SELECT r.*,
       (SELECT count(*) FROM nodes n WHERE n.region = r.id)::int AS node_count,
       (SELECT count(*) FROM skus s WHERE s.region = r.id)::int AS sku_count
FROM regions r
ORDER BY r.id;

-- name: RegionUsers :one
-- What keeps a region from being deleted: a few of its nodes' hostnames
-- and SKU ids, and how many of each there are.
SELECT (SELECT count(*) FROM nodes n WHERE n.region = @id)::int AS node_count,
       (SELECT count(*) FROM skus s WHERE s.region = @id)::int AS sku_count,
       ARRAY(SELECT n.hostname FROM nodes n WHERE n.region = @id ORDER BY n.hostname LIMIT @sample)::text[] AS hostnames,
       ARRAY(SELECT s.id FROM skus s WHERE s.region = @id ORDER BY s.id LIMIT @sample)::text[] AS sku_ids;

-- name: CreateSKU :one
INSERT INTO skus (id, name, gpu_model, gpu_count, gpu_memory_mib, vcpu, memory_mib, disk_gib,
                  price_per_hour_minor, currency, region, active)
VALUES (@id, @name, @gpu_model, @gpu_count, @gpu_memory_mib, @vcpu, @memory_mib, @disk_gib,
        @price_per_hour_minor, @currency, @region, true)
RETURNING *;

-- name: GetSKUForUpdate :one
SELECT * FROM skus WHERE id = @id FOR UPDATE;

-- name: UpdateSKU :one
UPDATE skus SET name = @name, price_per_hour_minor = @price_per_hour_minor, active = @active
WHERE id = @id RETURNING *;

-- name: InsertSKUPrice :exec
INSERT INTO sku_prices (sku_id, price_per_hour_minor, previous_price_minor, changed_by)
VALUES (@sku_id, @price_per_hour_minor, sqlc.narg(previous_price_minor), @changed_by);

-- name: ListSKUPrices :many
-- A SKU's price history, newest first (id breaks ties within a transaction
-- timestamp).
SELECT p.price_per_hour_minor, p.previous_price_minor, p.changed_by, p.changed_at, u.username AS changed_by_username
FROM sku_prices p LEFT JOIN users u ON u.id = p.changed_by
WHERE p.sku_id = @sku_id
ORDER BY p.id DESC
LIMIT @page_limit;

-- name: ListAllSKUs :many
-- Every SKU, active or not, with its free capacity as ListActiveSKUs
-- counts it.
SELECT s.*,
       COALESCE((
           SELECT sum(c.free / s.gpu_count)
           FROM node_gpu_capacity c JOIN nodes n ON n.id = c.node_id
           WHERE c.model = s.gpu_model AND c.free >= s.gpu_count
             AND n.region = s.region AND n.status = 'online' AND n.admin_state = 'active'
       ), 0)::int AS available
FROM skus s
WHERE sqlc.narg(cursor_id)::text IS NULL OR s.id > sqlc.narg(cursor_id)::text
ORDER BY s.id
LIMIT @page_limit;

-- name: ListSKUShapes :many
-- Every SKU's id and shape, active or not, for the suggestions.
SELECT id, region, gpu_model, gpu_count FROM skus;

-- name: ListNodeGPUShapes :many
-- The GPUs nodes reported, per node grouped by model and memory, then per
-- (region, model, memory, count): how many nodes have that many such GPUs.
-- Disabled nodes are left out: an admin took them out of service.
SELECT per_node.region, per_node.model, per_node.memory_mib, per_node.gpu_count::int AS gpu_count,
       count(*)::int AS node_count
FROM (
    SELECT n.region, g.model, g.memory_mib, count(*) AS gpu_count
    FROM gpus g JOIN nodes n ON n.id = g.node_id
    WHERE n.admin_state <> 'disabled'
    GROUP BY n.id, n.region, g.model, g.memory_mib
) per_node
GROUP BY per_node.region, per_node.model, per_node.memory_mib, per_node.gpu_count
ORDER BY per_node.region, per_node.model, per_node.memory_mib, per_node.gpu_count;

-- name: SKUAvailable :one
-- How many more allocations of one SKU fit now, as ListActiveSKUs counts.
SELECT COALESCE((
           SELECT sum(c.free / s.gpu_count)
           FROM node_gpu_capacity c JOIN nodes n ON n.id = c.node_id
           WHERE c.model = s.gpu_model AND c.free >= s.gpu_count
             AND n.region = s.region AND n.status = 'online' AND n.admin_state = 'active'
       ), 0)::int AS available
FROM skus s WHERE s.id = @id;
