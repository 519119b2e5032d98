-- 0063: sign-in through OIDC providers. An identity is a provider's subject
-- (the ID token's iss is fixed per provider name, so (provider, subject) is
-- unique across the deployment) tied to one of our users. A user may hold
-- several identities; deleting the user drops them.

CREATE TABLE oidc_identities (
    provider      text        NOT NULL CHECK (provider ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    subject       text        NOT NULL CHECK (length(subject) BETWEEN 1 AND 255),
    user_id       uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email         text        NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, subject)
);
CREATE INDEX oidc_identities_user ON oidc_identities (user_id);
