-- 0011: notifications kept on the server. Every message the notify relay
-- sends on /ws/notifications is also a row here, so every browser of a user
-- shows the same history and unread count. One event may notify several
-- allocations of one user (a node going offline), hence the key
-- (event_id, user_id, allocation_id); a redelivered event inserts nothing.
CREATE TABLE notifications (
    id            uuid        PRIMARY KEY, -- UUIDv7: ordered by creation
    user_id       uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    event_id      uuid        NOT NULL,
    kind          text        NOT NULL,
    title         text        NOT NULL,
    body          text        NOT NULL,
    allocation_id uuid,
    created_at    timestamptz NOT NULL DEFAULT now(),
    read_at       timestamptz
);
CREATE UNIQUE INDEX notifications_event_key ON notifications (event_id, user_id, allocation_id) NULLS NOT DISTINCT;
CREATE INDEX notifications_user_idx ON notifications (user_id, id DESC);
CREATE INDEX notifications_unread_idx ON notifications (user_id, id DESC) WHERE read_at IS NULL;
