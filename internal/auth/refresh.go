package auth

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"strings"
	"time"

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
// with sk. It returns the new refresh token's row id too.
func (s *Service) issuePair(ctx context.Context, q *store.Store, sk signingKey, u db.User, family uuid.UUID) (api.TokenPair, uuid.UUID, error) {
	refresh := secrets.Token(refreshPrefix)
	row, err := q.InsertRefreshToken(ctx, db.InsertRefreshTokenParams{
		UserID:    u.ID,
		FamilyID:  family,
		TokenHash: hashRefresh(refresh),
		// Each refresh extends the session: an active client stays logged
		// in, an idle one is logged out RefreshTTL after its last use.
		ExpiresAt: s.now().Add(s.cfg.RefreshTTL),
	})
	if err != nil {
		return api.TokenPair{}, uuid.Nil, fmt.Errorf("insert refresh token: %w", err)
	}
	pair, err := s.pairOf(sk, u, family, refresh)
	return pair, row.ID, err
}

// pairOf signs a new access token for u in session family and pairs it
// with refresh.
func (s *Service) pairOf(sk signingKey, u db.User, family uuid.UUID, refresh string) (api.TokenPair, error) {
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

// successorAAD binds a sealed successor token to its row.
func successorAAD(id uuid.UUID) []byte { return []byte("refresh-successor:" + id.String()) }

// Refresh spends a refresh token and returns its successor with a new
// access token. The same token presented again within RefreshReuseGrace of
// being spent (two tabs refreshing at once) gets the same successor, with a
// fresh access token, while that successor is unspent. Any other replay of
// a spent token means it was copied: the whole family (the thief's and the
// owner's tokens, refresh and access) is revoked and the caller must log in
// again.
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
	var reused, graced bool
	var family uuid.UUID
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
		family = rt.FamilyID
		now := s.now()
		switch {
		case rt.RevokedAt != nil:
			// A suspension revoked it: say so to whoever holds it.
			if u, err := tx.GetUser(ctx, rt.UserID); err == nil && u.SuspendedAt != nil && u.DeletedAt == nil {
				return errSuspended()
			}
			return invalid
		case rt.UsedAt != nil:
			if pair, graced, err = s.graceReplay(ctx, tx, sk, rt, now); err != nil || graced {
				return err
			}
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
		case !now.Before(rt.ExpiresAt):
			return invalid
		}
		u, err := tx.GetUser(ctx, rt.UserID)
		if err != nil {
			return fmt.Errorf("get user of refresh token: %w", err)
		}
		if u.SuspendedAt != nil {
			return errSuspended()
		}
		// The new access token carries the user's current role and name.
		var next uuid.UUID
		if pair, next, err = s.issuePair(ctx, tx, sk, u, rt.FamilyID); err != nil {
			return err
		}
		sealed, err := secrets.Seal(s.masterKey, []byte(pair.RefreshToken), successorAAD(next))
		if err != nil {
			return fmt.Errorf("seal successor refresh token: %w", err)
		}
		if err := tx.MarkRefreshTokenUsed(ctx, db.MarkRefreshTokenUsedParams{
			ID: rt.ID, UsedAt: now, SuccessorID: uuid.NullUUID{UUID: next, Valid: true}, SuccessorEnc: sealed,
		}); err != nil {
			return fmt.Errorf("mark refresh token used: %w", err)
		}
		return nil
	})
	switch {
	case err != nil && apperr.HasCode(err, CodeAccountSuspended):
		s.refreshes.WithLabelValues("suspended").Inc()
		return api.TokenPair{}, err
	case err != nil && apperr.IsKind(err, apperr.KindUnauthorized):
		s.refreshes.WithLabelValues("invalid_token").Inc()
		return api.TokenPair{}, err
	case err != nil:
		return api.TokenPair{}, fmt.Errorf("refresh token: %w", err)
	case reused:
		s.DenySessions(ctx, family)
		s.refreshes.WithLabelValues("reused").Inc()
		slog.WarnContext(ctx, "refresh token reused; session revoked")
		return api.TokenPair{}, apperr.Unauthorized(CodeRefreshReused, "refresh token was already used; the session has been revoked, log in again")
	case graced:
		s.refreshes.WithLabelValues("replayed_in_grace").Inc()
		return pair, nil
	}
	s.refreshes.WithLabelValues("success").Inc()
	return pair, nil
}

// graceReplay answers a spent token rt presented again within
// RefreshReuseGrace of being spent: the successor it was exchanged for,
// while that is still unspent and live, with a new access token. ok is
// false when the replay is not covered (then it counts as reuse).
func (s *Service) graceReplay(ctx context.Context, tx *store.Store, sk signingKey, rt db.RefreshToken, now time.Time) (api.TokenPair, bool, error) {
	if rt.UsedAt == nil || !rt.SuccessorID.Valid || len(rt.SuccessorEnc) == 0 || now.Sub(*rt.UsedAt) > s.cfg.RefreshReuseGrace {
		return api.TokenPair{}, false, nil
	}
	next, err := tx.GetRefreshTokenByID(ctx, rt.SuccessorID.UUID)
	if store.IsNoRows(err) {
		return api.TokenPair{}, false, nil
	}
	if err != nil {
		return api.TokenPair{}, false, fmt.Errorf("get successor refresh token: %w", err)
	}
	if next.RevokedAt != nil || next.UsedAt != nil || !now.Before(next.ExpiresAt) {
		return api.TokenPair{}, false, nil
	}
	plain, err := secrets.Open(s.masterKey, rt.SuccessorEnc, successorAAD(next.ID))
	if err != nil {
		return api.TokenPair{}, false, fmt.Errorf("open successor refresh token: %w", err)
	}
	u, err := tx.GetUser(ctx, rt.UserID)
	if err != nil {
		return api.TokenPair{}, false, fmt.Errorf("get user of refresh token: %w", err)
	}
	pair, err := s.pairOf(sk, u, rt.FamilyID, string(plain))
	return pair, err == nil, err
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
