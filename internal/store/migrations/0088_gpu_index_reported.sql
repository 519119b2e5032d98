-- 0088: a GPU's index is unique among the devices its node reports now.
-- A held device that falls off the bus keeps its row (and its allocation)
-- but is no longer reported; after the node restarts, its agent numbers
-- the remaining devices again from 0, and one of them takes the lost
-- device's index. With (node_id, idx) unique over every row that report
-- failed on every heartbeat, and the node never came back online. Devices
-- that swap indexes in one report are written in one transaction, so the
-- check is deferred to its commit.
ALTER TABLE gpus ADD COLUMN reported boolean NOT NULL DEFAULT true;
UPDATE gpus SET reported = false WHERE health_reason = 'missing from the agent''s report';
ALTER TABLE gpus DROP CONSTRAINT gpus_node_id_idx_key;
ALTER TABLE gpus ADD CONSTRAINT gpus_node_idx_reported
    EXCLUDE USING btree (node_id WITH =, idx WITH =) WHERE (reported) DEFERRABLE INITIALLY DEFERRED;
