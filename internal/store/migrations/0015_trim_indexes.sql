-- 0015: indexes that others cover, dropped: every allocation transition and
-- every audit row writes each index of its table.
--
-- audit_logs (action text_pattern_ops, id DESC) from 0013 serves equality
-- on action as well as prefixes, in the same order.
DROP INDEX audit_logs_action_idx;
-- allocations_running_user_idx (user_id, currency) WHERE status IN
-- ('requested', 'provisioning', 'active') from 0010 serves a user's active
-- allocations: status = 'active' implies its predicate.
DROP INDEX allocations_active_user_idx;
