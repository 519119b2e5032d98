package sdk

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gpuaas/gpuaas/api"
)

// TokenSource supplies the bearer token for authenticated calls.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// TokenSourceFunc adapts a function to TokenSource.
type TokenSourceFunc func(ctx context.Context) (string, error)

// Token calls f.
func (f TokenSourceFunc) Token(ctx context.Context) (string, error) { return f(ctx) }

// StaticToken is a TokenSource that always returns the same token.
type StaticToken string

// Token returns t.
func (t StaticToken) Token(context.Context) (string, error) { return string(t), nil }

// Tokens is a signed-in session as a client keeps it.
type Tokens struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	Expiry       time.Time `json:"expiry"` // of the access token; zero when unknown
}

// NewTokens converts a login or refresh answer received at now.
func NewTokens(p api.TokenPair, now time.Time) Tokens {
	t := Tokens{AccessToken: p.AccessToken, RefreshToken: p.RefreshToken}
	if p.ExpiresIn > 0 {
		t.Expiry = now.Add(time.Duration(p.ExpiresIn) * time.Second)
	}
	return t
}

// expiresWithin reports whether the access token is gone or expires within d of now.
func (t Tokens) expiresWithin(now time.Time, d time.Duration) bool {
	if t.AccessToken == "" {
		return true
	}
	return !t.Expiry.IsZero() && !now.Add(d).Before(t.Expiry)
}

// RefreshSkew is how long before expiry a RefreshingTokenSource renews the
// access token, so that a token does not expire in flight or by clock skew.
const RefreshSkew = 30 * time.Second

// RefreshingTokenSource hands out the access token and, when it is about
// to expire, trades the refresh token for a new pair first. Refresh tokens
// are single-use, so the new pair must be kept: OnRefresh is called with it
// before it is used, and its error fails the call.
type RefreshingTokenSource struct {
	client    *Client
	onRefresh func(Tokens) error
	now       func() time.Time

	mu     sync.Mutex
	tokens Tokens
}

// NewRefreshingTokenSource renews t through c (Refresh needs no bearer
// token, so c may be the client that uses this source). onRefresh may be nil.
func NewRefreshingTokenSource(c *Client, t Tokens, onRefresh func(Tokens) error) *RefreshingTokenSource {
	return &RefreshingTokenSource{client: c, tokens: t, onRefresh: onRefresh, now: time.Now}
}

// ErrSessionExpired means the access token has expired and there is no
// refresh token to renew it.
var ErrSessionExpired = errors.New("session expired: sign in again")

// Token returns a valid access token, refreshing first when needed.
func (s *RefreshingTokenSource) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if !s.tokens.expiresWithin(now, RefreshSkew) {
		return s.tokens.AccessToken, nil
	}
	if s.tokens.RefreshToken == "" {
		return "", ErrSessionExpired
	}
	pair, err := s.client.Refresh(ctx, s.tokens.RefreshToken)
	if err != nil {
		return "", fmt.Errorf("refresh access token: %w", err)
	}
	s.tokens = NewTokens(pair, now)
	if s.onRefresh != nil {
		if err := s.onRefresh(s.tokens); err != nil {
			return "", fmt.Errorf("keep refreshed tokens: %w", err)
		}
	}
	return s.tokens.AccessToken, nil
}

// Tokens returns the current session.
func (s *RefreshingTokenSource) Tokens() Tokens {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens
}
