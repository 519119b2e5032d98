package reqctx

import (
	"context"

	"github.com/google/uuid"
)

type key int

const (
	keyRequestID key = iota
	keyClientIP
	keyPrincipal
)

// Principal is the authenticated caller.
type Principal struct {
	UserID   uuid.UUID
	Username string
	Role     string
	// TokenID is the access token's jti; logout puts it on the deny-list.
	TokenID string
	// ExpiresUnix is when the access token expires.
	ExpiresUnix int64
	// SessionID is the refresh-token family of the login the access token
	// came from (its "sid" claim), so a password change can keep this
	// session and end the others.
	SessionID uuid.UUID
	// APITokenID is the API token the caller presented, uuid.Nil for an
	// interactive session (an access token).
	APITokenID uuid.UUID
	// Scopes are the API token's scopes; an interactive session has none
	// and is not limited by them.
	Scopes []string
}

// IsAdmin reports whether the caller has the admin role.
func (p Principal) IsAdmin() bool { return p.Role == "admin" }

// IsAPIToken reports whether the caller presented an API token rather
// than an interactive session's access token.
func (p Principal) IsAPIToken() bool { return p.APITokenID != uuid.Nil }

// HasScope reports whether the caller may act within scope: always for
// an interactive session, and for an API token when it holds scope.
func (p Principal) HasScope(scope string) bool {
	if !p.IsAPIToken() {
		return true
	}
	for _, s := range p.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// WithRequestID returns ctx carrying the correlation id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, keyRequestID, id)
}

// RequestID is the correlation id of the request, or "".
func RequestID(ctx context.Context) string {
	s, _ := ctx.Value(keyRequestID).(string)
	return s
}

// WithClientIP returns ctx carrying the client's address.
func WithClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, keyClientIP, ip)
}

// ClientIP is the client's address, or "".
func ClientIP(ctx context.Context) string {
	s, _ := ctx.Value(keyClientIP).(string)
	return s
}

// WithPrincipal returns ctx carrying the authenticated caller.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, keyPrincipal, p)
}

// PrincipalFrom returns the authenticated caller, if any.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(keyPrincipal).(Principal)
	return p, ok
}
