package oidc

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/secrets"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
	"github.com/gpuaas/gpuaas/internal/users"
)

// resolve finds or makes the user behind (provider, subject):
//
//  1. an identity already linked signs in its user;
//  2. else, when an account holds the token's email: linked only when the
//     operator allows linking by email and the provider says the email
//     is verified (otherwise anyone who can claim an address at the
//     provider could take over the account); refused as account_exists;
//  3. else a new user, when just-in-time creation is on; refused as
//     signup_disabled when it is off.
//
// The admin claim, when configured, then sets the role either way.
func (s *Service) resolve(ctx context.Context, p config.OIDCProvider, subject string, claims map[string]any) (uuid.UUID, error) {
	if subject == "" || len(subject) > 255 {
		return uuid.Nil, fail(CodeInvalidIDToken, "bad subject")
	}
	email, _ := claims["email"].(string)
	email = strings.TrimSpace(email)
	verified := claimTrue(claims["email_verified"])

	var userID uuid.UUID
	id, err := s.st.GetOIDCIdentity(ctx, db.GetOIDCIdentityParams{Provider: p.Name, Subject: subject})
	switch {
	case err == nil:
		userID = id.UserID
		if err := s.st.TouchOIDCIdentity(ctx, db.TouchOIDCIdentityParams{Provider: p.Name, Subject: subject, Email: email}); err != nil {
			return uuid.Nil, &Error{Code: CodeServerError, Err: fmt.Errorf("touch identity: %w", err)}
		}
	case !store.IsNoRows(err):
		return uuid.Nil, &Error{Code: CodeServerError, Err: fmt.Errorf("get identity: %w", err)}
	default:
		if userID, err = s.firstSignIn(ctx, p, subject, email, verified, claims); err != nil {
			return uuid.Nil, err
		}
	}
	if p.AdminClaim != "" {
		if err := s.syncRole(ctx, userID, p.AdminClaim, claims); err != nil {
			return uuid.Nil, err
		}
	}
	return userID, nil
}

func (s *Service) firstSignIn(ctx context.Context, p config.OIDCProvider, subject, email string, verified bool, claims map[string]any) (uuid.UUID, error) {
	if email != "" {
		u, err := s.st.GetUserByEmail(ctx, email)
		switch {
		case err == nil:
			if !s.cfg.LinkByEmail {
				return uuid.Nil, fail(CodeAccountExists, "an account holds this email and linking by email is off")
			}
			if !verified {
				return uuid.Nil, fail(CodeAccountExists, "an account holds this email and the provider does not say it is verified")
			}
			if u.DeletedAt != nil {
				return uuid.Nil, fail(CodeAccountExists, "the account of this email is deleted")
			}
			return u.ID, s.link(ctx, p.Name, subject, u.ID, email)
		case !store.IsNoRows(err):
			return uuid.Nil, &Error{Code: CodeServerError, Err: fmt.Errorf("get user by email: %w", err)}
		}
	}
	if !s.cfg.JIT {
		return uuid.Nil, fail(CodeSignupDisabled, "no account for this identity and just-in-time creation is off")
	}
	if email == "" {
		return uuid.Nil, fail(CodeSignupDisabled, "the provider gave no email to create an account with")
	}
	return s.create(ctx, p.Name, subject, email, claims)
}

func (s *Service) link(ctx context.Context, provider, subject string, userID uuid.UUID, email string) error {
	_, err := s.st.InsertOIDCIdentity(ctx, db.InsertOIDCIdentityParams{
		Provider: provider, Subject: subject, UserID: userID, Email: email,
	})
	if err != nil {
		return &Error{Code: CodeServerError, Err: fmt.Errorf("link identity: %w", err)}
	}
	return nil
}

// create makes a user named after the token's preferred_username or the
// email's local part (with a number added while the name is taken) and
// links the identity. The password is random and never told: the user
// signs in through the provider (or asks an admin for a reset link).
func (s *Service) create(ctx context.Context, provider, subject, email string, claims map[string]any) (uuid.UUID, error) {
	pref, _ := claims["preferred_username"].(string)
	base := usernameFrom(pref)
	if base == "" {
		local, _, _ := strings.Cut(email, "@")
		base = usernameFrom(local)
	}
	if base == "" {
		base = "user"
	}
	pw := secrets.Token("Oi1-")
	for i := 0; i < 20; i++ {
		name := base
		if i > 0 {
			name = fmt.Sprintf("%s-%d", trimTo(base, 56), i+1)
		}
		u, err := s.users.Create(ctx, uuid.Nil, users.CreateParams{
			Username: name, Email: email, Password: pw, Role: string(api.RoleUser),
		})
		switch {
		case apperr.HasCode(err, "username_taken"):
			continue
		case apperr.HasCode(err, "email_taken"):
			return uuid.Nil, fail(CodeAccountExists, "email registered meanwhile")
		case err != nil:
			return uuid.Nil, &Error{Code: CodeServerError, Err: fmt.Errorf("create user: %w", err)}
		}
		return u.Id, s.link(ctx, provider, subject, u.Id, email)
	}
	return uuid.Nil, fail(CodeServerError, "no free username from %q", base)
}

// syncRole makes the user an admin when the claim matches and a plain user
// when it does not. A change ends the user's other sessions (users.Update).
func (s *Service) syncRole(ctx context.Context, userID uuid.UUID, match string, claims map[string]any) error {
	claim, value, _ := config.ParseClaimMatch(match)
	want := string(api.RoleUser)
	if claimHas(claims[claim], value) {
		want = string(api.RoleAdmin)
	}
	u, err := s.st.GetUser(ctx, userID)
	if err != nil {
		return &Error{Code: CodeServerError, Err: fmt.Errorf("get user: %w", err)}
	}
	if u.Role == want {
		return nil
	}
	if _, err := s.users.Update(ctx, uuid.Nil, userID, users.UpdateParams{Role: &want}, s.auth); err != nil {
		return &Error{Code: CodeServerError, Err: fmt.Errorf("set role from claim: %w", err)}
	}
	return nil
}

// claimHas says whether v (a string, or a list of them) holds want.
func claimHas(v any, want string) bool {
	switch x := v.(type) {
	case string:
		return x == want
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok && s == want {
				return true
			}
		}
	}
	return false
}

// claimTrue reads email_verified, which some providers send as a string.
func claimTrue(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return strings.EqualFold(x, "true")
	}
	return false
}

var notUsername = regexp.MustCompile(`[^a-z0-9._-]+`)

// usernameFrom turns a claim into a valid username, or "".
func usernameFrom(s string) string {
	s = notUsername.ReplaceAllString(strings.ToLower(strings.TrimSpace(s)), "-")
	s = strings.TrimLeft(s, "._-")
	s = trimTo(s, 63)
	if len(s) < 2 {
		return ""
	}
	return s
}

func trimTo(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
