package auth

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/password"
	"github.com/gpuaas/gpuaas/internal/reqctx"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Logout ends the caller's session on every replica: the session (every
// access token it was ever issued, not only the one presented) goes on the
// deny-list until the last of them expires, and its refresh tokens are
// revoked. refreshToken, if given, is revoked too when it is p's own;
// someone else's token is silently left alone, so the call reveals nothing
// about it.
func (s *Service) Logout(ctx context.Context, p reqctx.Principal, refreshToken string) error {
	// The presented token first, so it is refused even if the database is
	// down below.
	s.deny(ctx, denyKey(p.TokenID))
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
	s.DenySessions(ctx, p.SessionID)
	return nil
}

// DenySessions puts every access token of the sessions sids on the
// deny-list, which every replica consults on every request, for as long as
// any of them could still pass Authenticate (AccessTTL plus leeway). Call
// it after the transaction that revoked the sessions' refresh tokens
// commits. The kv store fails open: on an error the tokens live out their
// AccessTTL, and the failure is logged and counted.
func (s *Service) DenySessions(ctx context.Context, sids ...uuid.UUID) {
	for _, sid := range sids {
		if sid != uuid.Nil {
			s.deny(ctx, denySessionKey(sid))
		}
	}
}

func (s *Service) deny(ctx context.Context, key string) {
	if key == denyKey("") {
		return
	}
	// Keep the flag as long as a token could still pass Authenticate,
	// which tolerates leeway past exp.
	if err := s.hot.SetFlag(ctx, key, s.cfg.AccessTTL+leeway); err != nil {
		slog.WarnContext(ctx, "deny-list access tokens failed", "key", key, "err", err)
		s.lim.FailOpen("denylist")
	}
}

// EndUserSessionsIn revokes, in the caller's transaction tx, the refresh
// tokens of every session of userID except keep (uuid.Nil: none), and
// returns the sessions it ended. After tx commits, pass them to
// DenySessions so their access tokens stop working too.
func (s *Service) EndUserSessionsIn(ctx context.Context, tx *store.Store, userID, keep uuid.UUID) ([]uuid.UUID, error) {
	sids, err := tx.RevokeUserSessionsExcept(ctx, db.RevokeUserSessionsExceptParams{
		UserID: userID, KeepFamily: uuid.NullUUID{UUID: keep, Valid: keep != uuid.Nil},
	})
	if err != nil {
		return nil, fmt.Errorf("revoke sessions of user %s: %w", userID, err)
	}
	return sids, nil
}

// ChangePassword replaces the caller's password after checking the current
// one, and ends every other session of the user on every replica (their
// refresh tokens, and their access tokens through the deny-list). The
// caller's own session stays.
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
	var ended []uuid.UUID
	err = s.st.InTx(ctx, func(tx *store.Store) error {
		if err := tx.SetUserPassword(ctx, db.SetUserPasswordParams{ID: u.ID, PasswordHash: hash}); err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		var err error
		if ended, err = s.EndUserSessionsIn(ctx, tx, u.ID, p.SessionID); err != nil {
			return err
		}
		return audit.Record(ctx, tx.Queries, audit.Entry{
			Actor: u.ID, Action: audit.ActionPasswordChanged,
			TargetType: "user", TargetID: u.ID.String(),
			Metadata: map[string]any{"sessions_revoked": len(ended)},
		})
	})
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	s.DenySessions(ctx, ended...)
	return nil
}
