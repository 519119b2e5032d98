-- 0090: reserving and freeing a GPU, and a change of its health, touch no
-- index, so they are heap-only (HOT) updates: no new entry in each of the
-- table's indexes, and no deferred recheck of gpus_node_idx_reported, on
-- every create and release. Placement finds a node's free GPUs through
-- the node (a node has a handful), not through an index of free GPUs;
-- freeing an allocation's GPUs goes through its node too. Pages keep room
-- for the new row versions.
DROP INDEX gpus_free_idx;
DROP INDEX gpus_allocation_idx;
CREATE INDEX gpus_node_idx ON gpus (node_id);
ALTER TABLE gpus SET (fillfactor = 50);
