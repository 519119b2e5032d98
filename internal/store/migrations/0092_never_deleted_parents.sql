-- 0092: SKUs, users and nodes are never deleted: a SKU is deactivated, a
-- user suspended or soft-deleted (deleted_at), a node disabled. So an
-- allocation's references to them cannot dangle, and the foreign keys that
-- said so only cost each create five checks, each share-locking a parent
-- row and logging the lock. The SKU's row is the same for every create of
-- it, so concurrent creates turned each of those locks into a new
-- multixact. The guarantee now sits on the parents: deleting (or
-- truncating) one is refused.
CREATE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are never deleted: deactivate, suspend or disable instead', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$;

CREATE TRIGGER skus_never_deleted BEFORE DELETE ON skus FOR EACH ROW EXECUTE FUNCTION refuse_delete();
CREATE TRIGGER skus_never_truncated BEFORE TRUNCATE ON skus FOR EACH STATEMENT EXECUTE FUNCTION refuse_delete();
CREATE TRIGGER users_never_deleted BEFORE DELETE ON users FOR EACH ROW EXECUTE FUNCTION refuse_delete();
CREATE TRIGGER users_never_truncated BEFORE TRUNCATE ON users FOR EACH STATEMENT EXECUTE FUNCTION refuse_delete();
CREATE TRIGGER nodes_never_deleted BEFORE DELETE ON nodes FOR EACH ROW EXECUTE FUNCTION refuse_delete();
CREATE TRIGGER nodes_never_truncated BEFORE TRUNCATE ON nodes FOR EACH STATEMENT EXECUTE FUNCTION refuse_delete();

ALTER TABLE allocations
    DROP CONSTRAINT allocations_sku_id_fkey,
    DROP CONSTRAINT allocations_user_id_fkey,
    DROP CONSTRAINT allocations_created_by_fkey,
    DROP CONSTRAINT allocations_node_id_fkey;
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_user_id_fkey;
