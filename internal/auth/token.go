package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/ratelimit"
	"github.com/gpuaas/gpuaas/internal/reqctx"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Error codes of failed authentication.
const (
	CodeInvalidToken       = "invalid_token"
	CodeTokenExpired       = "token_expired"
	CodeTokenRevoked       = "token_revoked"
	CodeInvalidCredentials = "invalid_credentials"
	CodeRefreshReused      = "refresh_token_reused"
	CodeAccountSuspended   = "account_suspended"
)

// accessClaims are the claims of an access token. aud is a single string
// (RFC 7519 allows it) rather than jwt.RegisteredClaims' list, whose
// encoding is a package-global switch in golang-jwt.
type accessClaims struct {
	Issuer    string `json:"iss"`
	Subject   string `json:"sub"`
	Audience  string `json:"aud"`
	ExpiresAt int64  `json:"exp"`
	NotBefore int64  `json:"nbf"`
	IssuedAt  int64  `json:"iat"`
	ID        string `json:"jti"`
	Username  string `json:"username"`
	Role      string `json:"role"`
	SessionID string `json:"sid"`
}

func numericDate(sec int64) (*jwt.NumericDate, error) {
	if sec == 0 {
		return nil, nil // absent; WithExpirationRequired catches a missing exp
	}
	return jwt.NewNumericDate(time.Unix(sec, 0)), nil
}

func (c accessClaims) GetExpirationTime() (*jwt.NumericDate, error) { return numericDate(c.ExpiresAt) }
func (c accessClaims) GetNotBefore() (*jwt.NumericDate, error)      { return numericDate(c.NotBefore) }
func (c accessClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return numericDate(c.IssuedAt) }
func (c accessClaims) GetIssuer() (string, error)                   { return c.Issuer, nil }
func (c accessClaims) GetSubject() (string, error)                  { return c.Subject, nil }
func (c accessClaims) GetAudience() (jwt.ClaimStrings, error) {
	if c.Audience == "" {
		return nil, nil
	}
	return jwt.ClaimStrings{c.Audience}, nil
}

// signingKey is the key access tokens are signed with. Callers fetch it
// (keyring.signer may reload from the pool) before they open a
// transaction, so a request never holds two pool connections at once.
type signingKey struct {
	kid string
	key ed25519.PrivateKey
}

func (s *Service) signingKey(ctx context.Context) (signingKey, error) {
	kid, key, err := s.keys.signer(ctx)
	return signingKey{kid: kid, key: key}, err
}

// issueAccess signs an access token for u in session sid with sk.
func (s *Service) issueAccess(sk signingKey, u db.User, sid uuid.UUID) (string, error) {
	kid, key := sk.kid, sk.key
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", fmt.Errorf("generate jti: %w", err)
	}
	now := s.now()
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, accessClaims{
		Issuer:    s.cfg.Issuer,
		Subject:   u.ID.String(),
		Audience:  s.cfg.Audience,
		ExpiresAt: now.Add(s.cfg.AccessTTL).Unix(),
		NotBefore: now.Unix(),
		IssuedAt:  now.Unix(),
		ID:        base64.RawURLEncoding.EncodeToString(jti),
		Username:  u.Username,
		Role:      u.Role,
		SessionID: sid.String(),
	})
	t.Header["kid"] = kid
	signed, err := t.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	return signed, nil
}

// Authenticate verifies an access token and returns its caller. A
// suspended user's token is 403 account_suspended; every other failure is a
// 401: token_expired, token_revoked or invalid_token (the cause is kept for
// logs, not shown).
//
// A bearer starting with APITokenPrefix is an API token, looked up in the
// database instead (see authenticateAPIToken); its Principal carries its
// scopes, which the caller must check against the route.
func (s *Service) Authenticate(ctx context.Context, bearer string) (reqctx.Principal, error) {
	return s.authenticate(ctx, bearer, nil)
}

// Quota is a token bucket that an authenticated request spends one token
// from: the per-user API rate limit. The bucket's key is Prefix followed by
// the caller's user ID, so a user's sessions and API tokens share it.
type Quota struct {
	Prefix string
	Rate   float64
	Burst  int
}

// AuthenticateWithin is Authenticate, then one token from the caller's
// bucket of q: 429 rate_limited when it is empty. For an access token the
// deny-list check and the token are one round trip to the hot-state store,
// and a revoked token spends nothing.
func (s *Service) AuthenticateWithin(ctx context.Context, bearer string, q Quota) (reqctx.Principal, error) {
	return s.authenticate(ctx, bearer, &q)
}

func (s *Service) authenticate(ctx context.Context, bearer string, q *Quota) (reqctx.Principal, error) {
	if IsAPIToken(bearer) {
		p, err := s.authenticateAPIToken(ctx, bearer)
		if err == nil && q != nil {
			err = s.lim.Take(ctx, q.Prefix+p.UserID.String(), q.Rate, q.Burst)
		}
		return p, err
	}
	e, ok := s.verified.get(bearer, s.now())
	if !ok || !s.keys.known(ctx, e.kid) {
		var err error
		if e, err = s.verify(ctx, bearer); err != nil {
			return reqctx.Principal{}, err
		}
		s.verified.put(bearer, e, s.now())
	}
	p := e.p
	// The token itself, or its whole session (logout, password change,
	// role change, refresh reuse), may be on the deny-list, or its user
	// suspended: one round trip for all three, and for the quota's token.
	flags := []string{denyKey(p.TokenID), denySessionKey(p.SessionID), suspendedKey(p.UserID)}
	revoked, allowed, retryAfter := false, true, time.Duration(0)
	var err error
	if q == nil {
		revoked, err = s.hot.HasFlag(ctx, flags...)
	} else {
		revoked, allowed, retryAfter, err = s.hot.TakeUnlessFlagged(ctx, q.Prefix+p.UserID.String(), q.Rate, q.Burst, flags...)
	}
	switch {
	case err != nil:
		// Fail open: a kv outage must not log everyone out. A revoked token
		// then lives until its exp, at most AccessTTL.
		slog.WarnContext(ctx, "deny-list check failed; accepting token", "err", err)
		s.lim.FailOpen("denylist")
		if q != nil {
			s.lim.FailOpen("take")
		}
	case revoked:
		// Only a refused token pays for telling the two apart.
		if suspended, err := s.hot.HasFlag(ctx, suspendedKey(p.UserID)); err == nil && suspended {
			return reqctx.Principal{}, errSuspended()
		}
		return reqctx.Principal{}, apperr.Unauthorized(CodeTokenRevoked, "access token has been revoked")
	case !allowed:
		return reqctx.Principal{}, ratelimit.Limited(retryAfter)
	}
	return p, nil
}

// verify checks an access token's signature and claims.
func (s *Service) verify(ctx context.Context, bearer string) (verifiedToken, error) {
	var c accessClaims
	var kid string
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{algEdDSA}),
		jwt.WithIssuer(s.cfg.Issuer),
		jwt.WithAudience(s.cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(s.now),
	)
	_, err := parser.ParseWithClaims(bearer, &c, func(t *jwt.Token) (any, error) {
		// WithValidMethods already refused other algorithms; checking the
		// method type again keeps an HMAC secret or RSA key from ever being
		// handed to a verifier it was not meant for.
		if _, ok := t.Method.(*jwt.SigningMethodEd25519); !ok {
			return nil, fmt.Errorf("unexpected signing method %v", t.Header["alg"])
		}
		kid, _ = t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("token has no kid")
		}
		pk, ok := s.keys.publicKey(ctx, kid)
		if !ok {
			return nil, fmt.Errorf("unknown kid %q", kid)
		}
		return ed25519.PublicKey(pk), nil
	})
	if errors.Is(err, jwt.ErrTokenExpired) {
		return verifiedToken{}, apperr.Unauthorized(CodeTokenExpired, "access token has expired").Wrap(err)
	}
	if err != nil {
		return verifiedToken{}, apperr.Unauthorized(CodeInvalidToken, "invalid access token").Wrap(err)
	}
	p, err := c.principal()
	if err != nil {
		return verifiedToken{}, apperr.Unauthorized(CodeInvalidToken, "invalid access token").Wrap(err)
	}
	return verifiedToken{p: p, kid: kid}, nil
}

func (c accessClaims) principal() (reqctx.Principal, error) {
	uid, err := uuid.Parse(c.Subject)
	if err != nil {
		return reqctx.Principal{}, fmt.Errorf("parse sub: %w", err)
	}
	sid, err := uuid.Parse(c.SessionID)
	if err != nil {
		return reqctx.Principal{}, fmt.Errorf("parse sid: %w", err)
	}
	if c.ID == "" || c.Username == "" || (c.Role != "user" && c.Role != "admin") {
		return reqctx.Principal{}, errors.New("token lacks jti, username or a known role")
	}
	return reqctx.Principal{
		UserID: uid, Username: c.Username, Role: c.Role,
		TokenID: c.ID, ExpiresUnix: c.ExpiresAt, SessionID: sid,
	}, nil
}

func denyKey(jti string) string { return "deny:jti:" + jti }

func denySessionKey(sid uuid.UUID) string { return "deny:sid:" + sid.String() }

// suspendedKey flags a suspended user: every token of theirs is refused
// with account_suspended.
func suspendedKey(uid uuid.UUID) string { return "deny:user:" + uid.String() }

func errSuspended() *apperr.Error {
	return apperr.ForbiddenCode(CodeAccountSuspended, "this account is suspended; contact an administrator")
}
