-- 0045: GPU telemetry. One row per GPU per heartbeat (utilisation, memory
-- in use, temperature, power), kept 24 hours. Written by the agent
-- gateway's telemetry flusher with COPY in batches, never row by row.
--
-- Range-partitioned by hour on t (the time the control plane received the
-- heartbeat): the retention job creates the partitions a few hours ahead
-- and drops whole partitions once they are past the retention, so pruning
-- is a DROP TABLE, not a DELETE that leaves dead rows for vacuum. Hourly,
-- not daily, so nothing outlives 24 hours by more than one hour. No
-- foreign key: a sample must not cost a lookup, and node rows are never
-- deleted while they have samples younger than the retention.
CREATE TABLE gpu_samples (
    node_id         uuid        NOT NULL,
    gpu_uuid        text        NOT NULL,
    t               timestamptz NOT NULL,
    utilization_pct smallint    NOT NULL,
    memory_used_mib integer     NOT NULL,
    temperature_c   smallint    NOT NULL,
    power_w         integer     NOT NULL
) PARTITION BY RANGE (t);

-- The one index: readers ask for one node's GPUs over a window (an
-- allocation's GPUs are all on its node).
CREATE INDEX gpu_samples_node_t ON gpu_samples (node_id, t);

-- gpu_samples_prepare creates the hourly partitions that cover
-- [from_t, from_t + hours) and do not exist yet, named
-- gpu_samples_pYYYYMMDDHH (UTC), and returns how many it created.
CREATE FUNCTION gpu_samples_prepare(from_t timestamptz, hours integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    start_h timestamp := date_trunc('hour', from_t AT TIME ZONE 'UTC');
    lo      timestamp;
    name    text;
    created integer := 0;
BEGIN
    -- Replicas run this concurrently: one at a time, so none fails on a
    -- partition another just created.
    PERFORM pg_advisory_xact_lock(hashtext('gpu_samples partitions'));
    FOR i IN 0 .. greatest(hours, 1) - 1 LOOP
        lo := start_h + make_interval(hours => i);
        name := 'gpu_samples_p' || to_char(lo, 'YYYYMMDDHH24');
        IF to_regclass(name) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF gpu_samples FOR VALUES FROM (%L) TO (%L)',
                name, (lo AT TIME ZONE 'UTC'), ((lo + interval '1 hour') AT TIME ZONE 'UTC'));
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END $$;

-- gpu_samples_drop_before drops the partitions whose whole hour ends at or
-- before cutoff, and returns how many it dropped.
CREATE FUNCTION gpu_samples_drop_before(cutoff timestamptz) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    part    text;
    dropped integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('gpu_samples partitions'));
    FOR part IN
        SELECT c.relname FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'gpu_samples'::regclass AND c.relname ~ '^gpu_samples_p[0-9]{10}$'
    LOOP
        IF (to_timestamp(substr(part, 14), 'YYYYMMDDHH24')::timestamp + interval '1 hour') AT TIME ZONE 'UTC' <= cutoff THEN
            EXECUTE format('DROP TABLE %I', part);
            dropped := dropped + 1;
        END IF;
    END LOOP;
    RETURN dropped;
END $$;

-- Partitions for the hours around the migration, so samples land before
-- the retention job first runs.
SELECT gpu_samples_prepare(now() - interval '1 hour', 4);
