-- 0013: the audit log is searched by action prefix and category
-- ("allocation.", "auth."): an index LIKE 'prefix%' can use whatever the
-- database's collation.
CREATE INDEX audit_logs_action_prefix_idx ON audit_logs (action text_pattern_ops, id DESC);
