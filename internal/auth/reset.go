package auth

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/password"
	"github.com/gpuaas/gpuaas/internal/secrets"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Password reset links.
const (
	// CodeResetLinkExpired: the link was used, replaced by a newer one,
	// expired, or never issued.
	CodeResetLinkExpired = "reset_link_expired"
	// ResetTTL is how long a reset link works.
	ResetTTL    = time.Hour
	resetPrefix = "gpr_"
	// ResetPath is the console page a link opens.
	ResetPath = "/reset-password"
)

// hashReset is what the database keeps of a reset token: like refresh
// tokens, 256 random bits need no slow hash.
func hashReset(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// IssuePasswordReset makes a one-time link, valid ResetTTL, that sets a new
// password for userID, audited as done by actor. It spends the user's
// earlier unused links. Only the token's hash is stored; the link is shown
// once.
func (s *Service) IssuePasswordReset(ctx context.Context, actor, userID uuid.UUID) (api.PasswordResetLink, error) {
	token := secrets.Token(resetPrefix)
	expires := s.now().Add(ResetTTL).UTC().Truncate(time.Second)
	err := s.st.InTx(ctx, func(tx *store.Store) error {
		u, err := tx.GetUserForUpdate(ctx, userID)
		if store.IsNoRows(err) || err == nil && u.DeletedAt != nil {
			return apperr.NotFound("user")
		}
		if err != nil {
			return fmt.Errorf("lock user: %w", err)
		}
		replaced, err := tx.SpendUnusedPasswordResets(ctx, userID)
		if err != nil {
			return fmt.Errorf("spend older links: %w", err)
		}
		if _, err := tx.InsertPasswordReset(ctx, db.InsertPasswordResetParams{
			UserID: userID, TokenHash: hashReset(token), ExpiresAt: expires,
			CreatedBy: uuid.NullUUID{UUID: actor, Valid: actor != uuid.Nil},
		}); err != nil {
			return fmt.Errorf("store link: %w", err)
		}
		return audit.Record(ctx, tx.Queries, audit.Entry{
			Actor: actor, Action: audit.ActionPasswordResetIssued, TargetType: "user", TargetID: userID.String(),
			Metadata: map[string]any{"expires_at": expires, "replaced": replaced},
		})
	})
	if err != nil {
		return api.PasswordResetLink{}, fmt.Errorf("issue password reset: %w", err)
	}
	return api.PasswordResetLink{Url: ResetPath + "?token=" + url.QueryEscape(token), ExpiresAt: expires}, nil
}

// RedeemPasswordReset sets the password of the link's user and ends every
// session of theirs on every replica. A token that was used, replaced,
// expired or never issued is 410 reset_link_expired; a password the policy
// refuses is 400 weak_password and leaves the link usable.
func (s *Service) RedeemPasswordReset(ctx context.Context, token, next string) error {
	token = strings.TrimSpace(token)
	if token == "" {
		return apperr.Invalid("token is required")
	}
	expired := apperr.Gone(CodeResetLinkExpired, "this password reset link was already used, replaced or has expired; ask an administrator for a new one")
	var ended []uuid.UUID
	err := s.st.InTx(ctx, func(tx *store.Store) error {
		// FOR UPDATE: two redemptions of one link, one wins.
		pr, err := tx.GetPasswordResetForUpdate(ctx, hashReset(token))
		if store.IsNoRows(err) {
			return expired
		}
		if err != nil {
			return fmt.Errorf("get reset link: %w", err)
		}
		if pr.UsedAt != nil || !s.now().Before(pr.ExpiresAt) {
			return expired
		}
		u, err := tx.GetUser(ctx, pr.UserID)
		if err != nil {
			return fmt.Errorf("get user of reset link: %w", err)
		}
		if u.DeletedAt != nil {
			return expired
		}
		if err := password.CheckPolicy(next, u.Username); err != nil {
			return err
		}
		hash, err := password.Hash(next)
		if err != nil {
			return err
		}
		if err := tx.SetUserPassword(ctx, db.SetUserPasswordParams{ID: u.ID, PasswordHash: hash}); err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		if err := tx.SpendPasswordReset(ctx, pr.ID); err != nil {
			return fmt.Errorf("spend reset link: %w", err)
		}
		if ended, err = s.EndUserSessionsIn(ctx, tx, u.ID, uuid.Nil); err != nil {
			return err
		}
		return audit.Record(ctx, tx.Queries, audit.Entry{
			Actor: u.ID, Action: audit.ActionPasswordResetRedeemed, TargetType: "user", TargetID: u.ID.String(),
			Metadata: map[string]any{"sessions_revoked": len(ended)},
		})
	})
	if err != nil {
		return fmt.Errorf("redeem password reset: %w", err)
	}
	s.DenySessions(ctx, ended...)
	return nil
}
