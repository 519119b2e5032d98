-- 0006: where users reach a node over SSH, as its agent advertises it
-- (--ssh-host, --ssh-port) when it connects. An empty ssh_host means the
-- node's hostname, so existing nodes and nodes without an agent (the sim
-- runtime) need no backfill.

ALTER TABLE nodes
    ADD COLUMN ssh_host text    NOT NULL DEFAULT '',
    ADD COLUMN ssh_port integer NOT NULL DEFAULT 22 CHECK (ssh_port BETWEEN 1 AND 65535);
