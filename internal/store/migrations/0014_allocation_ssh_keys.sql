-- 0014: which of its owner's SSH keys an allocation installs. NULL (every
-- allocation made before, and any created without ssh_key_ids) means all
-- of the owner's keys, including keys added later; a list means those keys
-- only, as long as the owner keeps them. Keys reach running allocations
-- when they change (the ssh_keys.changed event).
ALTER TABLE allocations ADD COLUMN ssh_key_ids uuid[];
