-- 0021: what happened to an allocation's workload, for
-- GET /api/v1/allocations/{id}/events: pull progress, created, started,
-- healthy/unhealthy, exited, OOM, removed, with timestamps. Rows are kept
-- for container (docker) allocations only: a shell allocation's few
-- lifecycle events are derived from its row when read, so the shell create
-- path (issue 10 measures creates per second) writes nothing more.
--
-- apps_ready names the workload's ports whose readiness probe passes now,
-- as the node's agent last reported them (empty: none, or not running).

CREATE TABLE allocation_events (
    id            bigserial PRIMARY KEY,
    allocation_id uuid NOT NULL REFERENCES allocations ON DELETE CASCADE,
    kind          text NOT NULL,
    message       text NOT NULL,
    exit_code     int,
    bytes_done    bigint,
    bytes_total   bigint,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX allocation_events_allocation ON allocation_events (allocation_id, id);

ALTER TABLE allocations
    ADD COLUMN apps_ready text[] NOT NULL DEFAULT '{}';
