-- 0020: workloads. A node records the runtimes its agent announces on
-- hello (process, docker); placement only picks a node that has the
-- runtime a request needs. Existing nodes run today's agents, which offer
-- process (a sim agent simulates it), so they need no backfill.
--
-- An allocation names its runtime and, for a container, its workload: the
-- launchable, image, command, env and ports as the user asked, with the
-- SKU's limits, and secret params sealed (never plain text). NULL means
-- the shell launchable, as before.

ALTER TABLE nodes
    ADD COLUMN runtimes text[] NOT NULL DEFAULT '{process}';

ALTER TABLE allocations
    ADD COLUMN runtime  text  NOT NULL DEFAULT 'process' CHECK (runtime IN ('process', 'docker')),
    ADD COLUMN workload jsonb;
