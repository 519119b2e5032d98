-- name: PrepareGPUSamplePartitions :one
-- Creates the hourly partitions of gpu_samples from @from_t for @hours
-- hours that do not exist yet; returns how many it created.
SELECT gpu_samples_prepare(@from_t::timestamptz, @hours::int)::int AS created;

-- name: DropGPUSamplePartitionsBefore :one
-- Drops the partitions of gpu_samples whose hour ends at or before
-- @cutoff; returns how many it dropped.
SELECT gpu_samples_drop_before(@cutoff::timestamptz)::int AS dropped;

-- name: GPUSampleSeries :many
-- One node's GPU samples in [@since, @until), averaged per @step_s-second
-- bucket (aligned to the epoch), one row per GPU and bucket; only the GPUs
-- named in @uuids, or all of the node's when it is empty.
SELECT gpu_uuid,
       to_timestamp(floor(extract(epoch FROM t) / @step_s::float8) * @step_s::float8)::timestamptz AS bucket,
       avg(utilization_pct)::float8 AS utilization_pct,
       avg(memory_used_mib)::float8 AS memory_used_mib,
       avg(temperature_c)::float8 AS temperature_c,
       avg(power_w)::float8 AS power_w
FROM gpu_samples
WHERE node_id = @node_id
  AND t >= @since::timestamptz AND t < @until::timestamptz
  AND (cardinality(@uuids::text[]) = 0 OR gpu_uuid = ANY(@uuids::text[]))
GROUP BY gpu_uuid, bucket
ORDER BY gpu_uuid, bucket;

-- name: GetAllocationTelemetryScope :one
-- What an allocation's metrics may show: its node, its GPUs as placed and
-- when it ran. Only an allocation the caller may act for (another user's
-- is no row).
SELECT node_id, gpus, active_at, released_at
FROM allocations
WHERE id = @id AND may_act_for(user_id, @user_id::uuid);

-- name: NodeTelemetryGPUs :many
-- A node's GPUs (index, UUID) for its metrics: no row when the node does
-- not exist, one row with NULLs when it has no GPUs.
SELECT g.idx, g.uuid
FROM nodes n LEFT JOIN gpus g ON g.node_id = n.id
WHERE n.id = @node_id
ORDER BY g.idx;
