-- 0030: storage namespaces. One row per (namespace, region) the API has
-- touched: u-<user uuid> for a user (t-<team uuid> later), in a region.
--
-- used_bytes is the namespace's size as the last scan found it, moved by
-- the API's own writes and deletes since; reserved_bytes are uploads in
-- flight, counted against the quota until they finish. quota_bytes NULL
-- means the platform default (--storage-quota-bytes). Files a workload
-- writes straight into the shared filesystem change the size outside the
-- API: a rescan (at most once a minute, when usage is read or an upload
-- starts) sets used_bytes again.
CREATE TABLE storage_namespaces (
    namespace      text        NOT NULL CHECK (namespace ~ '^[ut]-[0-9a-f-]{36}$'),
    region         text        NOT NULL,
    owner_user_id  uuid        REFERENCES users ON DELETE CASCADE,
    used_bytes     bigint      NOT NULL DEFAULT 0 CHECK (used_bytes >= 0),
    reserved_bytes bigint      NOT NULL DEFAULT 0 CHECK (reserved_bytes >= 0),
    quota_bytes    bigint      CHECK (quota_bytes >= 0),
    scanned_at     timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (namespace, region)
);

CREATE INDEX storage_namespaces_owner ON storage_namespaces (owner_user_id);
