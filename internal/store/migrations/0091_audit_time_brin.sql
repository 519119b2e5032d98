-- 0091: audit rows are only ever appended, stamped with the time they
-- were written, so their time order is their order on disk: a BRIN index
-- answers the since/until filters of the audit list and export as a
-- B-tree did, at a fraction of the cost of keeping it. Every state change
-- writes an audit row, so this is one B-tree entry fewer on each.
DROP INDEX audit_logs_time_idx;
CREATE INDEX audit_logs_time_idx ON audit_logs USING brin (occurred_at);
