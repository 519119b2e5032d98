-- 0009: a node has one way in at a time. Issuing a join token revokes the
-- node's older unused ones (revoked_at), and a join revokes the node's
-- earlier credentials. Existing rows keep revoked_at NULL: tokens issued
-- before this migration stay usable until they expire, as they were.

ALTER TABLE node_join_tokens ADD COLUMN revoked_at timestamptz;
