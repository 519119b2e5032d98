-- 0070: teams. A team is an account, as an organisation is on GitHub: it
-- has a users row of kind 'team' (its slug is that row's username, so teams
-- and people share one namespace of names), and so it owns what any account
-- owns in the same way a person does: a ledger account and balance,
-- allocations, usage windows, balance alerts and a storage namespace. A
-- team row never signs in: it has no password, email, identity or token.
-- People act for a team through team_members; every check reads that table,
-- so removing a member takes their access away from the next request.
ALTER TABLE users ADD COLUMN kind text NOT NULL DEFAULT 'person' CHECK (kind IN ('person', 'team'));
ALTER TABLE users DROP CONSTRAINT users_email_check;
ALTER TABLE users ADD CONSTRAINT users_email_check
    CHECK (CASE kind WHEN 'team' THEN email = '' ELSE length(email) BETWEEN 3 AND 254 END);
DROP INDEX users_email_key;
CREATE UNIQUE INDEX users_email_key ON users (lower(email)) WHERE kind = 'person';

CREATE TABLE teams (
    id         uuid        PRIMARY KEY REFERENCES users (id),
    name       text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    created_by uuid        NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE team_members (
    team_id    uuid        NOT NULL REFERENCES teams (id),
    user_id    uuid        NOT NULL REFERENCES users (id),
    role       text        NOT NULL CHECK (role IN ('owner', 'member')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user_idx ON team_members (user_id);

-- may_act_for: whether caller may act for account, being it or one of its
-- team's members. Every per-allocation check of a signed-in user uses it.
CREATE FUNCTION may_act_for(account uuid, caller uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT account = caller
        OR EXISTS (SELECT 1 FROM team_members m WHERE m.team_id = account AND m.user_id = caller)
$$;

-- Who asked for an allocation: its owner for a personal one, the member
-- who launched it for a team's.
ALTER TABLE allocations ADD COLUMN created_by uuid REFERENCES users (id);
