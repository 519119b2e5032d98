-- 0050: maintenance. A draining node takes no new placements (placement
-- already requires admin_state = 'active') and, at drain_deadline, what
-- still runs on it is force-released with its charge ending at the
-- deadline. A decommissioned node is retired for good: it keeps its record
-- and history but never takes work or an agent again.

ALTER TABLE nodes DROP CONSTRAINT nodes_admin_state_check;
ALTER TABLE nodes ADD CONSTRAINT nodes_admin_state_check
    CHECK (admin_state IN ('active', 'maintenance', 'draining', 'disabled', 'decommissioned'));

ALTER TABLE nodes
    ADD COLUMN drain_deadline timestamptz,
    ADD COLUMN drain_reason   text NOT NULL DEFAULT '',
    ADD CONSTRAINT nodes_drain_deadline CHECK ((admin_state = 'draining') = (drain_deadline IS NOT NULL));

-- The drain sweeper's question: which drains are due.
CREATE INDEX nodes_drain_due ON nodes (drain_deadline) WHERE admin_state = 'draining';
