-- 0007: releases are durable intents, and charging follows what the user
-- asked for and what the node saw.
--
-- allocations: when release was first asked (the window closes there,
-- whatever happens on the node), the last error of the release or
-- provision step and when the reconciler tries it next (backoff).
ALTER TABLE allocations
    ADD COLUMN release_requested_at timestamptz,
    ADD COLUMN last_error           text        NOT NULL DEFAULT '',
    ADD COLUMN next_attempt_at      timestamptz;

-- Releases the reconciler still has to finish, by when to try next.
CREATE INDEX allocations_pending_release_idx ON allocations (next_attempt_at)
    WHERE status IN ('releasing', 'release_failed');

-- Existing releasing rows asked for their release when they last changed.
UPDATE allocations SET release_requested_at = status_changed_at
WHERE status IN ('releasing', 'release_failed', 'released') AND release_requested_at IS NULL;

-- usage_records: billing pauses at the last heartbeat that saw the
-- workload running when its node goes offline (paused_at), and the gap is
-- not charged when the node comes back (paused_micros sums closed gaps).
ALTER TABLE usage_records
    ADD COLUMN paused_at     timestamptz,
    ADD COLUMN paused_micros bigint NOT NULL DEFAULT 0 CHECK (paused_micros >= 0);

-- nodes: when a node went offline and how much of the time since the
-- control plane itself was up to see it (the node-lost grace counts only
-- that); offline_checked_at is the last sweep that counted.
ALTER TABLE nodes
    ADD COLUMN offline_since        timestamptz,
    ADD COLUMN offline_grace_micros bigint NOT NULL DEFAULT 0,
    ADD COLUMN offline_checked_at   timestamptz;
