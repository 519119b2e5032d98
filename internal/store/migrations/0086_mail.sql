-- 0086: notifications by email. A notification of a kind that is mailed
-- (notify.MailKinds) writes a mail_outbox row in the transaction that
-- stores it, unless its user opted out of that kind; the mailer claims due
-- rows with FOR UPDATE SKIP LOCKED, sends them and marks them sent, or
-- backs off and tries again. A row is never dropped for an SMTP outage.
CREATE TABLE notification_email_optouts (
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, kind)
);

CREATE TABLE mail_outbox (
    id              uuid        PRIMARY KEY, -- UUIDv7: ordered by creation
    notification_id uuid        NOT NULL UNIQUE REFERENCES notifications (id) ON DELETE CASCADE,
    user_id         uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            text        NOT NULL,
    to_addr         text        NOT NULL,
    subject         text        NOT NULL,
    text_body       text        NOT NULL,
    html_body       text        NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL;
