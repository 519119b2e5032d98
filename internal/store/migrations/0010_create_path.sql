-- 0010: a cheaper create. Each create reserves GPUs (their node's capacity
-- row changes), reads the user's running burn and open usage under the
-- account lock, and commits an event; these make each of those cost what
-- the work needs, not what the fleet or the user's history has grown to.

-- The capacity trigger changes a row once per GPU change, by the delta,
-- instead of a decrement and then an upsert of +0 on the same row.
CREATE OR REPLACE FUNCTION gpus_track_capacity() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was_free boolean := TG_OP <> 'INSERT' AND OLD.allocation_id IS NULL AND OLD.health = 'healthy';
    is_free  boolean := TG_OP <> 'DELETE' AND NEW.allocation_id IS NULL AND NEW.health = 'healthy';
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.node_id = NEW.node_id AND OLD.model = NEW.model THEN
        IF was_free <> is_free THEN
            UPDATE node_gpu_capacity SET free = free + CASE WHEN is_free THEN 1 ELSE -1 END
            WHERE node_id = NEW.node_id AND model = NEW.model;
        END IF;
        RETURN NULL;
    END IF;
    IF was_free THEN
        UPDATE node_gpu_capacity SET free = free - 1 WHERE node_id = OLD.node_id AND model = OLD.model;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO node_gpu_capacity (node_id, model, free) VALUES (NEW.node_id, NEW.model, CASE WHEN is_free THEN 1 ELSE 0 END)
        ON CONFLICT (node_id, model) DO UPDATE SET free = node_gpu_capacity.free + EXCLUDED.free;
    END IF;
    RETURN NULL;
END $$;

-- The capacity row is the one row every create on a node writes, so its
-- lock is held as briefly as possible: the trigger runs at commit instead
-- of at the reservation, and creates on one node no longer queue behind
-- each other's remaining statements. Readers of node_gpu_capacity in the
-- writing transaction itself see it before the change (none needs more).
DROP TRIGGER gpus_track_capacity ON gpus;
CREATE CONSTRAINT TRIGGER gpus_track_capacity AFTER INSERT OR UPDATE OR DELETE ON gpus
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION gpus_track_capacity();

-- No index covers free any more, and pages keep room, so a reservation's
-- capacity update is a heap-only (HOT) update: no new index entries and no
-- index bloat on the fleet's hottest rows. Placement reads candidates from
-- a cache (package allocation) and the SKU list scans by model.
DROP INDEX node_gpu_capacity_model_idx;
CREATE INDEX node_gpu_capacity_model_idx ON node_gpu_capacity (model);
ALTER TABLE node_gpu_capacity SET (fillfactor = 50);

-- What a user runs now (the runway check's burn) and their open usage
-- windows (balance less unbilled), without walking all their history.
CREATE INDEX allocations_running_user_idx ON allocations (user_id, currency)
    WHERE status IN ('requested', 'provisioning', 'active');
CREATE INDEX usage_records_user_open_idx ON usage_records (user_id, currency) WHERE ended_at IS NULL;

-- The outbox wake-up moves out of the database: NOTIFY takes a
-- cluster-wide lock at commit that queues every committing transaction
-- behind it. The process that commits an event kicks its own relay
-- (store.Store.EventsWritten); relays also poll.
DROP TRIGGER outbox_notify ON outbox;
DROP FUNCTION outbox_notify();
