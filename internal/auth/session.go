package auth

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/password"
	"github.com/gpuaas/gpuaas/internal/reqctx"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Logout ends the caller's session: the access token p was authenticated
// with is put on the deny-list until it expires, and the session's refresh
// tokens are revoked. refreshToken, if given, is revoked too when it is p's
// own; someone else's token is silently left alone, so the call reveals
// nothing about it.
func (s *Service) Logout(ctx context.Context, p reqctx.Principal, refreshToken string) error {
	// Keep the flag as long as the token could still pass Authenticate,
	// which tolerates leeway past exp.
	if ttl := time.Unix(p.ExpiresUnix, 0).Add(leeway).Sub(s.now()); p.TokenID != "" && ttl > 0 {
		if err := s.hot.SetFlag(ctx, denyKey(p.TokenID), ttl); err != nil {
			// Fail open like the check: the token lives at most AccessTTL,
			// and the refresh tokens below are still revoked durably.
			slog.WarnContext(ctx, "deny-list access token failed", "err", err)
			s.lim.FailOpen("denylist")
		}
	}
	err := s.st.InTx(ctx, func(tx *store.Store) error {
		var n int64
		if refreshToken != "" {
			var err error
			n, err = tx.RevokeRefreshToken(ctx, db.RevokeRefreshTokenParams{
				TokenHash: hashRefresh(refreshToken), UserID: p.UserID,
			})
			if err != nil {
				return fmt.Errorf("revoke refresh token: %w", err)
			}
		}
		if p.SessionID != uuid.Nil {
			m, err := tx.RevokeUserRefreshFamily(ctx, db.RevokeUserRefreshFamilyParams{
				UserID: p.UserID, FamilyID: p.SessionID,
			})
			if err != nil {
				return fmt.Errorf("revoke session: %w", err)
			}
			n += m
		}
		return audit.Record(ctx, tx.Queries, audit.Entry{
			Actor: p.UserID, Action: audit.ActionLogout,
			TargetType: "user", TargetID: p.UserID.String(),
			Metadata: map[string]any{"refresh_token_revoked": n > 0},
		})
	})
	if err != nil {
		return fmt.Errorf("log out: %w", err)
	}
	return nil
}

// ChangePassword replaces the caller's password after checking the current
// one, and ends every other session of the user (their refresh tokens; their
// access tokens expire within AccessTTL). The caller's own session stays.
// Wrong current passwords count towards the same (username, address)
// lockout as logins, so a stolen access token cannot be used to guess the
// password.
func (s *Service) ChangePassword(ctx context.Context, p reqctx.Principal, current, next string) error {
	u, err := s.st.GetUser(ctx, p.UserID)
	if store.IsNoRows(err) {
		return apperr.Unauthorized(CodeInvalidToken, "user no longer exists")
	}
	if err != nil {
		return fmt.Errorf("get user: %w", err)
	}
	name, ip := u.Username, reqctx.ClientIP(ctx)
	if err := s.checkLockout(ctx, pairKey(name, ip), s.cfg.LoginUserFailures, name); err != nil {
		return err
	}
	ok, err := password.Verify(u.PasswordHash, current)
	if err != nil {
		return fmt.Errorf("verify password of %s: %w", u.ID, err)
	}
	if !ok {
		for _, key := range []string{pairKey(name, ip), failKey(name)} {
			if _, _, err := s.hot.Incr(ctx, key, s.cfg.LoginUserWindow); err != nil {
				s.lim.FailOpen("login_user")
			}
		}
		return apperr.Unauthorized(CodeInvalidCredentials, "current password is wrong")
	}
	if next == current {
		return apperr.InvalidCode(password.CodeWeakPassword, "new password must differ from the current one")
	}
	if err := password.CheckPolicy(next, u.Username); err != nil {
		return err
	}
	hash, err := password.Hash(next)
	if err != nil {
		return err
	}
	err = s.st.InTx(ctx, func(tx *store.Store) error {
		if err := tx.SetUserPassword(ctx, db.SetUserPasswordParams{ID: u.ID, PasswordHash: hash}); err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		keep := uuid.NullUUID{UUID: p.SessionID, Valid: p.SessionID != uuid.Nil}
		n, err := tx.RevokeUserRefreshTokensExcept(ctx, db.RevokeUserRefreshTokensExceptParams{UserID: u.ID, KeepFamily: keep})
		if err != nil {
			return fmt.Errorf("revoke other sessions: %w", err)
		}
		return audit.Record(ctx, tx.Queries, audit.Entry{
			Actor: u.ID, Action: audit.ActionPasswordChanged,
			TargetType: "user", TargetID: u.ID.String(),
			Metadata: map[string]any{"sessions_revoked": n},
		})
	})
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	return nil
}
