-- 0087: limits and payments meet teams (0070). A team is an account with a
-- users row, so a team's spend limits are the row of its account id in
-- spend_limits.user_id, as a person's are: the team_id column 0085 kept
-- for them goes (with its checks). A payment's team_id (0080: the team a top-up credits,
-- while user_id pays) now refers to the team.
ALTER TABLE spend_limits DROP COLUMN team_id;
ALTER TABLE spend_limits ALTER COLUMN user_id SET NOT NULL;
ALTER TABLE payments ADD CONSTRAINT payments_team_id_fkey FOREIGN KEY (team_id) REFERENCES teams (id);
