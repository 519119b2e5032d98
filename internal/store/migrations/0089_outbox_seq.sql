-- 0089: an event costs one index entry fewer when it is written and when
-- it is marked published. outbox.seq is an identity column, so its values
-- are unique by construction; the UNIQUE constraint beside it only added
-- a second index to every write. The relay still reads pending rows in seq
-- order through outbox_pending_idx.
ALTER TABLE outbox DROP CONSTRAINT outbox_seq_key;
