package auth

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/store"
)

// CodePersonalLoginDisabled refuses a password sign-in while
// --personal-login=admins and the user is not an admin.
const CodePersonalLoginDisabled = "personal_login_disabled"

// ExternalLogin starts a session for a user whom someone else vouched for
// (an OIDC provider): no password, no throttling (the provider did that).
// method and provider are recorded on the auth.login audit row. It returns
// the pair and the session id (the refresh family). A suspended or deleted
// user is refused.
func (s *Service) ExternalLogin(ctx context.Context, userID uuid.UUID, method, provider string) (api.TokenPair, uuid.UUID, error) {
	sk, err := s.signingKey(ctx)
	if err != nil {
		return api.TokenPair{}, uuid.Nil, fmt.Errorf("start session: %w", err)
	}
	family := uuid.New()
	var pair api.TokenPair
	err = s.st.InTx(ctx, func(tx *store.Store) error {
		u, err := tx.GetUser(ctx, userID)
		if err != nil {
			return fmt.Errorf("get user: %w", err)
		}
		if u.DeletedAt != nil {
			return apperr.Unauthorized(CodeInvalidCredentials, "the account is gone")
		}
		if u.SuspendedAt != nil {
			return errSuspended()
		}
		if pair, _, err = s.issuePair(ctx, tx, sk, u, family); err != nil {
			return err
		}
		return audit.Record(ctx, tx.Queries, audit.Entry{
			Actor: u.ID, Action: audit.ActionLoginSucceeded,
			TargetType: "user", TargetID: u.ID.String(),
			Metadata: map[string]any{"username": u.Username, "method": method, "provider": provider},
		})
	})
	if err != nil {
		return api.TokenPair{}, uuid.Nil, err
	}
	s.logins.WithLabelValues("success").Inc()
	return pair, family, nil
}
