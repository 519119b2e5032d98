package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/reqctx"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// APITokenPrefix starts every API token's secret, so Authenticate can tell
// one from an access token (and secret scanners can spot a leaked one).
const APITokenPrefix = "gpat_"

// apiTokenSecretBytes of randomness follow the prefix, base64url-encoded.
const apiTokenSecretBytes = 32

// The scopes an API token may hold. A token acts as its user with at most
// its scopes; the route table in package server says which scope each
// route needs.
const (
	// ScopeRead allows every GET its user may make, except billing and
	// admin routes.
	ScopeRead = "read"
	// ScopeAllocations allows creating, reading and releasing allocations,
	// their terminals, SSH, apps and logs.
	ScopeAllocations = "allocations"
	// ScopeBilling allows reading the balance and usage.
	ScopeBilling = "billing"
	// ScopeAdmin allows the admin routes, and only while the token's user
	// is an admin.
	ScopeAdmin = "admin"
)

// Scopes lists every scope, in the order they are shown.
var Scopes = []string{ScopeRead, ScopeAllocations, ScopeBilling, ScopeAdmin}

// CodeInsufficientScope is the 403 of an API token calling a route outside
// its scopes.
const CodeInsufficientScope = "insufficient_scope"

// MaxAPITokenTTL bounds an API token's life: expires_at is required and at
// most this far ahead.
const MaxAPITokenTTL = 366 * 24 * time.Hour

// MaxAPITokens is how many unrevoked tokens one user may hold.
const MaxAPITokens = 50

// apiTokenTouchEvery is how often a token's last use is written; between
// writes, uses are not recorded.
const apiTokenTouchEvery = time.Minute

// CreateAPITokenParams is what a user asks for.
type CreateAPITokenParams struct {
	Name      string
	ExpiresAt time.Time
	Scopes    []string
}

func hashAPIToken(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// IsAPIToken reports whether bearer has the shape of an API token.
func IsAPIToken(bearer string) bool { return strings.HasPrefix(bearer, APITokenPrefix) }

// CreateAPIToken makes a token for p's user and returns it with its
// secret, which is not stored (only its SHA-256) and cannot be shown
// again. Only an interactive session may create tokens (the route refuses
// API tokens); the admin scope is for admins only.
func (s *Service) CreateAPIToken(ctx context.Context, p reqctx.Principal, in CreateAPITokenParams) (api.CreatedAPIToken, error) {
	name, err := checkTokenName(in.Name)
	if err != nil {
		return api.CreatedAPIToken{}, err
	}
	scopes, err := checkScopes(in.Scopes)
	if err != nil {
		return api.CreatedAPIToken{}, err
	}
	if slices.Contains(scopes, ScopeAdmin) && !p.IsAdmin() {
		return api.CreatedAPIToken{}, apperr.ForbiddenCode(CodeInsufficientScope, "only admins may create tokens with the admin scope")
	}
	now := s.now()
	switch {
	case in.ExpiresAt.IsZero():
		return api.CreatedAPIToken{}, apperr.Invalid("expires_at is required")
	case !in.ExpiresAt.After(now):
		return api.CreatedAPIToken{}, apperr.Invalid("expires_at must be in the future")
	case in.ExpiresAt.After(now.Add(MaxAPITokenTTL)):
		return api.CreatedAPIToken{}, apperr.Invalid("expires_at must be at most %d days ahead", int(MaxAPITokenTTL/(24*time.Hour)))
	}
	raw := make([]byte, apiTokenSecretBytes)
	if _, err := rand.Read(raw); err != nil {
		return api.CreatedAPIToken{}, fmt.Errorf("generate api token: %w", err)
	}
	secret := APITokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	var row db.ApiToken
	err = s.st.InTx(ctx, func(tx *store.Store) error {
		n, err := tx.CountActiveAPITokens(ctx, p.UserID)
		if err != nil {
			return fmt.Errorf("count api tokens: %w", err)
		}
		if n >= MaxAPITokens {
			return apperr.Conflict("too_many_tokens", "at most %d API tokens; revoke one first", MaxAPITokens)
		}
		row, err = tx.InsertAPIToken(ctx, db.InsertAPITokenParams{
			UserID: p.UserID, Name: name, TokenHash: hashAPIToken(secret),
			Scopes: scopes, ExpiresAt: in.ExpiresAt.UTC().Truncate(time.Second),
		})
		if err != nil {
			return fmt.Errorf("insert api token: %w", err)
		}
		return audit.Record(ctx, tx.Queries, audit.Entry{
			Actor: p.UserID, Action: audit.ActionAPITokenCreated,
			TargetType: "api_token", TargetID: row.ID.String(),
			Metadata: map[string]any{"name": name, "scopes": scopes, "expires_at": row.ExpiresAt},
		})
	})
	if err != nil {
		return api.CreatedAPIToken{}, fmt.Errorf("create api token: %w", err)
	}
	return api.CreatedAPIToken{
		Id: row.ID, Name: row.Name, Token: secret, Scopes: apiScopes(row.Scopes), ExpiresAt: row.ExpiresAt,
	}, nil
}

// ListAPITokens returns userID's unrevoked tokens, newest first.
func (s *Service) ListAPITokens(ctx context.Context, userID uuid.UUID) ([]api.APIToken, error) {
	rows, err := s.st.ListAPITokens(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list api tokens: %w", err)
	}
	out := make([]api.APIToken, 0, len(rows))
	for _, r := range rows {
		out = append(out, api.APIToken{
			Id: r.ID, Name: r.Name, Scopes: apiScopes(r.Scopes), ExpiresAt: r.ExpiresAt,
			CreatedAt: r.CreatedAt, LastUsedAt: r.LastUsedAt, LastUsedIp: r.LastUsedIp,
		})
	}
	return out, nil
}

// RevokeAPIToken revokes one of p's tokens. Every request reads the
// token's row, so from the next request on every replica refuses it.
// Another user's token, or one already revoked, is not found.
func (s *Service) RevokeAPIToken(ctx context.Context, p reqctx.Principal, id uuid.UUID) error {
	err := s.st.InTx(ctx, func(tx *store.Store) error {
		row, err := tx.RevokeAPIToken(ctx, db.RevokeAPITokenParams{ID: id, UserID: p.UserID})
		if store.IsNoRows(err) {
			return apperr.NotFound("api token")
		}
		if err != nil {
			return fmt.Errorf("revoke api token: %w", err)
		}
		return audit.Record(ctx, tx.Queries, audit.Entry{
			Actor: p.UserID, Action: audit.ActionAPITokenRevoked,
			TargetType: "api_token", TargetID: row.ID.String(),
			Metadata: map[string]any{"name": row.Name},
		})
	})
	if err != nil {
		return fmt.Errorf("revoke api token %s: %w", id, err)
	}
	return nil
}

// authenticateAPIToken looks the token up on every request: no cache, so
// a revocation, an expiry, a suspension or a role change holds from the
// next request on every replica. The lookup is one indexed read (and, at
// most once a minute, a write of its last use).
func (s *Service) authenticateAPIToken(ctx context.Context, secret string) (reqctx.Principal, error) {
	invalid := apperr.Unauthorized(CodeInvalidToken, "invalid API token")
	if len(secret) != len(APITokenPrefix)+base64.RawURLEncoding.EncodedLen(apiTokenSecretBytes) {
		return reqctx.Principal{}, invalid
	}
	row, err := s.st.GetAPITokenAuth(ctx, hashAPIToken(secret))
	if store.IsNoRows(err) {
		return reqctx.Principal{}, invalid
	}
	if err != nil {
		return reqctx.Principal{}, fmt.Errorf("look up api token: %w", err)
	}
	now := s.now()
	switch {
	case row.RevokedAt != nil:
		return reqctx.Principal{}, apperr.Unauthorized(CodeTokenRevoked, "API token has been revoked")
	case !now.Before(row.ExpiresAt):
		return reqctx.Principal{}, apperr.Unauthorized(CodeTokenExpired, "API token has expired")
	case row.DeletedAt != nil:
		return reqctx.Principal{}, invalid
	case row.SuspendedAt != nil:
		return reqctx.Principal{}, errSuspended()
	}
	if row.LastUsedAt == nil || now.Sub(*row.LastUsedAt) >= apiTokenTouchEvery {
		// The statement itself skips a token touched within the minute, so
		// replicas racing here write once.
		if err := s.st.TouchAPIToken(ctx, db.TouchAPITokenParams{ID: row.ID, UsedIp: reqctx.ClientIP(ctx)}); err != nil {
			slog.WarnContext(ctx, "record api token use failed", "api_token_id", row.ID, "err", err)
		}
	}
	// A long-lived connection (a notification socket) opened with a token
	// lasts at most AccessTTL, as one opened by a session does, so a
	// revocation reaches it in time too.
	exp := min(row.ExpiresAt.Unix(), now.Add(s.cfg.AccessTTL).Unix())
	return reqctx.Principal{
		UserID: row.UserID, Username: row.Username, Role: row.Role,
		ExpiresUnix: exp, APITokenID: row.ID, Scopes: row.Scopes,
	}, nil
}

func checkTokenName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", apperr.Invalid("name is required")
	case !utf8.ValidString(name):
		return "", apperr.Invalid("name is not valid UTF-8")
	case utf8.RuneCountInString(name) > 64:
		return "", apperr.Invalid("name must be at most 64 characters")
	case strings.IndexFunc(name, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }) >= 0:
		return "", apperr.Invalid("name must not contain control characters")
	}
	return name, nil
}

// checkScopes returns scopes sorted in Scopes' order without duplicates.
func checkScopes(in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, apperr.Invalid("scopes must name at least one of %s", strings.Join(Scopes, ", "))
	}
	var out []string
	for _, sc := range Scopes {
		if slices.Contains(in, sc) {
			out = append(out, sc)
		}
	}
	for _, sc := range in {
		if !slices.Contains(Scopes, sc) {
			return nil, apperr.Invalid("unknown scope %q; scopes are %s", sc, strings.Join(Scopes, ", "))
		}
	}
	return out, nil
}

func apiScopes(in []string) []api.APITokenScope {
	out := make([]api.APITokenScope, len(in))
	for i, sc := range in {
		out[i] = api.APITokenScope(sc)
	}
	return out
}
