-- 0003: users' SSH public keys, which the node agent installs for the
-- allocation's user. public_key is the normalised "type base64" without the
-- comment (the comment is free text we never need to write into
-- authorized_keys); fingerprint is "SHA256:..." as `ssh-keygen -lf` prints.
CREATE TABLE ssh_keys (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 64),
    public_key  text        NOT NULL CHECK (length(public_key) BETWEEN 1 AND 16384),
    fingerprint text        NOT NULL CHECK (fingerprint LIKE 'SHA256:%'),
    key_type    text        NOT NULL,
    bits        integer     NOT NULL CHECK (bits > 0),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX ssh_keys_user_fingerprint_key ON ssh_keys (user_id, fingerprint);
CREATE INDEX ssh_keys_user_idx ON ssh_keys (user_id, created_at DESC, id DESC);
