-- 0008: a spent refresh token remembers its successor (see the comment below).
-- A spent refresh token remembers its successor, so the same token
-- presented again within a few seconds (two tabs refreshing at once) gets
-- that successor back instead of revoking the session. The successor's
-- plaintext is sealed under the master key (AES-256-GCM, bound to its id);
-- only its hash is stored in its own row.
ALTER TABLE refresh_tokens
    ADD COLUMN successor_id  uuid REFERENCES refresh_tokens (id) ON DELETE SET NULL,
    ADD COLUMN successor_enc bytea;
