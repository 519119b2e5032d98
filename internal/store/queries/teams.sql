-- name: CreateTeamAccount :one
-- A team's account row: no password and no email, so it can never sign in.
INSERT INTO users (username, email, role, password_hash, kind)
VALUES (@slug, '', 'user', '', 'team')
RETURNING id, created_at;

-- name: InsertTeam :exec
INSERT INTO teams (id, name, created_by) VALUES (@id, @name, @created_by);

-- name: InsertTeamMember :execrows
-- A person already in the team is left as they are (0 rows).
INSERT INTO team_members (team_id, user_id, role) VALUES (@team_id, @user_id, @role)
ON CONFLICT (team_id, user_id) DO NOTHING;

-- name: GetTeamForMember :one
-- One team by slug with the caller's role in it; no row when there is no
-- such team or the caller is not in it (both are 404 to them).
SELECT t.id, u.username AS slug, t.name, t.created_at, t.updated_at, m.role,
       (SELECT count(*) FROM team_members c WHERE c.team_id = t.id)::bigint AS member_count
FROM users u
JOIN teams t ON t.id = u.id
JOIN team_members m ON m.team_id = t.id AND m.user_id = @user_id
WHERE u.username = @slug AND u.kind = 'team' AND u.deleted_at IS NULL;

-- name: GetTeamBySlug :one
-- Any team by slug, for admins.
SELECT t.id, u.username AS slug, t.name, t.created_at, t.updated_at,
       (SELECT count(*) FROM team_members c WHERE c.team_id = t.id)::bigint AS member_count
FROM users u JOIN teams t ON t.id = u.id
WHERE u.username = @slug AND u.kind = 'team' AND u.deleted_at IS NULL;

-- name: ListUserTeams :many
-- The teams a person is in, by slug.
SELECT t.id, u.username AS slug, t.name, t.created_at, t.updated_at, m.role,
       (SELECT count(*) FROM team_members c WHERE c.team_id = t.id)::bigint AS member_count
FROM team_members m
JOIN teams t ON t.id = m.team_id
JOIN users u ON u.id = t.id
WHERE m.user_id = @user_id AND u.deleted_at IS NULL
ORDER BY u.username;

-- name: ListAllTeams :many
-- Every team, for admins, by slug after a cursor.
SELECT t.id, u.username AS slug, t.name, t.created_at, t.updated_at,
       (SELECT count(*) FROM team_members c WHERE c.team_id = t.id)::bigint AS member_count
FROM teams t JOIN users u ON u.id = t.id
WHERE u.deleted_at IS NULL AND (sqlc.narg(after_slug)::text IS NULL OR u.username > sqlc.narg(after_slug)::text)
ORDER BY u.username
LIMIT @page_limit;

-- name: RenameTeam :exec
UPDATE teams SET name = @name, updated_at = now() WHERE id = @id;

-- name: ListTeamMembers :many
SELECT m.user_id, u.username, u.email, m.role, m.created_at
FROM team_members m JOIN users u ON u.id = m.user_id
WHERE m.team_id = @team_id
ORDER BY u.username;

-- name: LockTeamMembers :many
-- Every member row of a team, locked: role changes and removals take these
-- locks in one order so that two of them cannot both leave no owner.
SELECT user_id, role FROM team_members WHERE team_id = @team_id ORDER BY user_id FOR UPDATE;

-- name: SetTeamMemberRole :execrows
UPDATE team_members SET role = @role WHERE team_id = @team_id AND user_id = @user_id;

-- name: DeleteTeamMember :execrows
DELETE FROM team_members WHERE team_id = @team_id AND user_id = @user_id;

-- name: GetPersonByUsername :one
-- A person (never a team) who may join a team.
SELECT id, username, email FROM users
WHERE username = @username AND kind = 'person' AND deleted_at IS NULL;

-- name: ListTeamIDsOf :many
-- The accounts a person may act for besides their own.
SELECT team_id FROM team_members WHERE user_id = @user_id;

-- name: MayActFor :one
SELECT may_act_for(@account::uuid, @caller::uuid)::boolean;

-- name: AccountRecipients :many
-- Who hears about an account's events: the person, or every member of the
-- team.
SELECT @account::uuid AS user_id FROM users WHERE id = @account::uuid AND kind = 'person'
UNION ALL
SELECT m.user_id FROM team_members m WHERE m.team_id = @account::uuid
ORDER BY user_id;

-- name: GetAccountKind :one
SELECT kind FROM users WHERE id = @id;
