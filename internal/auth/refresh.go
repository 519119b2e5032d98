package auth

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"strings"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/secrets"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Refresh tokens are "gpr_" and 32 random bytes in base64url. The prefix
// lets secret scanners recognise a leaked one.
const (
	refreshPrefix   = "gpr_"
	refreshTokenLen = len(refreshPrefix) + 43 // RawURLEncoding of 32 bytes
)

// hashRefresh is what the database stores: a SHA-256 is enough because the
// token is 256 random bits, so there is nothing to brute-force.
func hashRefresh(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

func wellFormedRefresh(tok string) bool {
	return len(tok) == refreshTokenLen && strings.HasPrefix(tok, refreshPrefix)
}

// issuePair stores a new refresh token in family for u (through q, the
// caller's transaction) and signs an access token for the same session
// with sk.
func (s *Service) issuePair(ctx context.Context, q *store.Store, sk signingKey, u db.User, family uuid.UUID) (api.TokenPair, error) {
	refresh := secrets.Token(refreshPrefix)
	_, err := q.InsertRefreshToken(ctx, db.InsertRefreshTokenParams{
		UserID:    u.ID,
		FamilyID:  family,
		TokenHash: hashRefresh(refresh),
		// Each refresh extends the session: an active client stays logged
		// in, an idle one is logged out RefreshTTL after its last use.
		ExpiresAt: s.now().Add(s.cfg.RefreshTTL),
	})
	if err != nil {
		return api.TokenPair{}, fmt.Errorf("insert refresh token: %w", err)
	}
	access, err := s.issueAccess(sk, u, family)
	if err != nil {
		return api.TokenPair{}, err
	}
	return api.TokenPair{
		AccessToken:  access,
		RefreshToken: refresh,
		TokenType:    api.TokenPairTokenTypeBearer,
		ExpiresIn:    int(s.cfg.AccessTTL.Seconds()),
	}, nil
}

// Refresh spends a refresh token and returns its successor with a new
// access token. A token that was already spent means it was copied: the
// whole family (the thief's and the owner's tokens) is revoked and the
// caller must log in again.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (api.TokenPair, error) {
	invalid := apperr.Unauthorized(CodeInvalidToken, "invalid or expired refresh token")
	if !wellFormedRefresh(refreshToken) {
		s.refreshes.WithLabelValues("invalid_token").Inc()
		return api.TokenPair{}, invalid
	}
	sk, err := s.signingKey(ctx)
	if err != nil {
		return api.TokenPair{}, fmt.Errorf("refresh token: %w", err)
	}
	var pair api.TokenPair
	var reused bool
	err = s.st.InTx(ctx, func(tx *store.Store) error {
		// FOR UPDATE serialises concurrent submissions of one token: the
		// second waits, then sees used_at set.
		rt, err := tx.GetRefreshTokenForUpdate(ctx, hashRefresh(refreshToken))
		if store.IsNoRows(err) {
			return invalid
		}
		if err != nil {
			return fmt.Errorf("get refresh token: %w", err)
		}
		switch {
		case rt.RevokedAt != nil:
			return invalid
		case rt.UsedAt != nil:
			// Checked before expiry: replaying an old spent token is just as
			// much a sign of theft while its successors live.
			reused = true
			if _, err := tx.RevokeRefreshFamily(ctx, rt.FamilyID); err != nil {
				return fmt.Errorf("revoke refresh family: %w", err)
			}
			// Committed on purpose (the caller still gets an error below).
			return audit.Record(ctx, tx.Queries, audit.Entry{
				Actor: rt.UserID, Action: audit.ActionRefreshReuse,
				TargetType: "user", TargetID: rt.UserID.String(),
				Metadata: map[string]any{"family_id": rt.FamilyID.String()},
			})
		case !s.now().Before(rt.ExpiresAt):
			return invalid
		}
		u, err := tx.GetUser(ctx, rt.UserID)
		if err != nil {
			return fmt.Errorf("get user of refresh token: %w", err)
		}
		if err := tx.MarkRefreshTokenUsed(ctx, rt.ID); err != nil {
			return fmt.Errorf("mark refresh token used: %w", err)
		}
		// The new access token carries the user's current role and name.
		pair, err = s.issuePair(ctx, tx, sk, u, rt.FamilyID)
		return err
	})
	switch {
	case err != nil && apperr.IsKind(err, apperr.KindUnauthorized):
		s.refreshes.WithLabelValues("invalid_token").Inc()
		return api.TokenPair{}, err
	case err != nil:
		return api.TokenPair{}, fmt.Errorf("refresh token: %w", err)
	case reused:
		s.refreshes.WithLabelValues("reused").Inc()
		slog.WarnContext(ctx, "refresh token reused; session revoked")
		return api.TokenPair{}, apperr.Unauthorized(CodeRefreshReused, "refresh token was already used; the session has been revoked, log in again")
	}
	s.refreshes.WithLabelValues("success").Inc()
	return pair, nil
}

// Cleanup deletes refresh tokens that expired over a day ago. Run it
// periodically; expired tokens are refused anyway, this only bounds the
// table.
func (s *Service) Cleanup(ctx context.Context) error {
	n, err := s.st.DeleteExpiredRefreshTokens(ctx)
	if err != nil {
		return fmt.Errorf("delete expired refresh tokens: %w", err)
	}
	if n > 0 {
		slog.InfoContext(ctx, "deleted expired refresh tokens", "count", n)
	}
	return nil
}
