-- name: GetOIDCIdentity :one
SELECT * FROM oidc_identities WHERE provider = @provider AND subject = @subject;

-- name: InsertOIDCIdentity :one
INSERT INTO oidc_identities (provider, subject, user_id, email)
VALUES (@provider, @subject, @user_id, @email)
RETURNING *;

-- name: TouchOIDCIdentity :exec
-- Records a sign-in and the email the provider gave this time.
UPDATE oidc_identities SET last_login_at = now(), email = @email
WHERE provider = @provider AND subject = @subject;

-- name: GetUserByEmail :one
-- Emails are unique without regard to case (users_email_key).
SELECT * FROM users WHERE lower(email) = lower(@email) AND kind = 'person';

-- name: CountOIDCIdentities :one
SELECT count(*) FROM oidc_identities WHERE user_id = @user_id;
