-- 0005: what a node's agent said about itself when it last connected. The
-- desired agent version is not stored: it is the control plane's own
-- version, and drift is computed when a node is read, so an upgrade of the
-- control plane needs no backfill. Existing nodes read as "no agent yet".

ALTER TABLE nodes
    ADD COLUMN agent_version      text        NOT NULL DEFAULT '',
    ADD COLUMN agent_connected_at timestamptz;
