package users

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/password"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Service manages users.
type Service struct {
	store *store.Store
}

// New returns a Service over st.
func New(st *store.Store) *Service { return &Service{store: st} }

// CreateParams is a new user.
type CreateParams struct {
	Username string
	Email    string
	Password string
	Role     string
}

var usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,62}$`)

// validate normalises p and checks every field, naming the first bad one.
func (p *CreateParams) validate() error {
	p.Username = strings.ToLower(strings.TrimSpace(p.Username))
	p.Email = strings.TrimSpace(p.Email)
	if !usernameRE.MatchString(p.Username) {
		return apperr.Invalid("username must be 2 to 63 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit")
	}
	if err := validEmail(p.Email); err != nil {
		return err
	}
	if p.Role != string(api.RoleUser) && p.Role != string(api.RoleAdmin) {
		return apperr.Invalid("role must be %q or %q", api.RoleUser, api.RoleAdmin)
	}
	return password.CheckPolicy(p.Password, p.Username)
}

// Create validates p, hashes the password and inserts the user, audited as
// done by actor (uuid.Nil for the system), in one transaction. A taken
// username or email is 409.
func (s *Service) Create(ctx context.Context, actor uuid.UUID, p CreateParams) (api.User, error) {
	if err := p.validate(); err != nil {
		return api.User{}, err
	}
	hash, err := password.Hash(p.Password)
	if err != nil {
		return api.User{}, fmt.Errorf("hash password: %w", err)
	}
	var u db.User
	err = s.store.InTx(ctx, func(tx *store.Store) error {
		u, err = tx.CreateUser(ctx, db.CreateUserParams{
			Username: p.Username, Email: p.Email, Role: p.Role, PasswordHash: hash,
		})
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx.Queries, audit.Entry{
			Actor: actor, Action: audit.ActionUserCreated, TargetType: "user", TargetID: u.ID.String(),
			Metadata: map[string]any{"username": u.Username, "role": u.Role},
		})
	})
	switch {
	case store.IsUniqueViolation(err, "users_username_key"):
		return api.User{}, apperr.Conflict("username_taken", "username %q is taken", p.Username)
	case store.IsUniqueViolation(err, "users_email_key"):
		return api.User{}, apperr.Conflict("email_taken", "email %q is already registered", p.Email)
	case err != nil:
		return api.User{}, fmt.Errorf("create user: %w", err)
	}
	return ToAPI(u), nil
}

// Ensure creates the user if the username is free, and otherwise sets its
// password; the dev seed uses it at every start. It reports whether it
// created the user.
func (s *Service) Ensure(ctx context.Context, p CreateParams) (bool, error) {
	existing, err := s.store.GetUserByUsername(ctx, strings.ToLower(p.Username))
	if store.IsNoRows(err) {
		if _, err := s.Create(ctx, uuid.Nil, p); err != nil {
			return false, err
		}
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up user %s: %w", p.Username, err)
	}
	if ok, _ := password.Verify(existing.PasswordHash, p.Password); ok {
		return false, nil
	}
	hash, err := password.Hash(p.Password)
	if err != nil {
		return false, fmt.Errorf("hash password: %w", err)
	}
	if err := s.store.SetUserPassword(ctx, db.SetUserPasswordParams{ID: existing.ID, PasswordHash: hash}); err != nil {
		return false, fmt.Errorf("set password of %s: %w", p.Username, err)
	}
	return false, nil
}

// Get returns one user; 404 when there is none.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (api.User, error) {
	u, err := s.store.GetUser(ctx, id)
	if store.IsNoRows(err) {
		return api.User{}, apperr.NotFound("user")
	}
	if err != nil {
		return api.User{}, fmt.Errorf("get user: %w", err)
	}
	return ToAPI(u), nil
}

// SessionEnder ends a user's sessions; package auth implements it.
type SessionEnder interface {
	// EndUserSessionsIn revokes, in tx, the refresh tokens of every session
	// of userID but keep (uuid.Nil: none) and returns the sessions ended.
	EndUserSessionsIn(ctx context.Context, tx *store.Store, userID, keep uuid.UUID) ([]uuid.UUID, error)
	// DenySessions refuses the sessions' access tokens; called after commit.
	DenySessions(ctx context.Context, sids ...uuid.UUID)
}

// Cursor is the position after the last user of a page.
type Cursor struct {
	CreatedAt string    `json:"t"`
	ID        uuid.UUID `json:"id"`
}

// MaxSearchLength is the longest search text List accepts, in characters.
const MaxSearchLength = 100

// ListFilter narrows List. Zero fields match everything.
type ListFilter struct {
	// Search is a case-insensitive substring of the username or the email;
	// surrounding spaces are ignored.
	Search string
	Role   string // "user" or "admin"
}

// validate normalises f and refuses what it cannot match.
func (f *ListFilter) validate() error {
	f.Search = strings.TrimSpace(f.Search)
	if !utf8.ValidString(f.Search) || utf8.RuneCountInString(f.Search) > MaxSearchLength {
		return apperr.Invalid("q must be valid text of at most %d characters", MaxSearchLength)
	}
	if f.Role != "" && f.Role != string(api.RoleUser) && f.Role != string(api.RoleAdmin) {
		return apperr.Invalid("role must be %q or %q", api.RoleUser, api.RoleAdmin)
	}
	return nil
}

// List returns up to limit users matching f after cursor (nil for the first
// page), newest first, and the cursor of the next page (nil at the end). A
// cursor stays valid under the same filter: the keyset is the ordering.
func (s *Service) List(ctx context.Context, f ListFilter, after *Cursor, limit int) ([]api.User, *Cursor, error) {
	if err := f.validate(); err != nil {
		return nil, nil, err
	}
	params := db.ListUsersParams{PageLimit: int32(limit + 1)}
	if f.Search != "" {
		params.Search = &f.Search
	}
	if f.Role != "" {
		params.Role = &f.Role
	}
	if after != nil {
		t, err := parseCursorTime(after.CreatedAt)
		if err != nil {
			return nil, nil, err
		}
		params.CursorTime, params.CursorID = &t, uuid.NullUUID{UUID: after.ID, Valid: true}
	}
	rows, err := s.store.ListUsers(ctx, params)
	if err != nil {
		return nil, nil, fmt.Errorf("list users: %w", err)
	}
	var next *Cursor
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[len(rows)-1]
		next = &Cursor{CreatedAt: formatCursorTime(last.CreatedAt), ID: last.ID}
	}
	out := make([]api.User, len(rows))
	for i, u := range rows {
		out[i] = ToAPI(u)
	}
	return out, next, nil
}

// ToAPI renders a user row; the hash never leaves this package.
func ToAPI(u db.User) api.User {
	out := api.User{Id: u.ID, Username: u.Username, Email: u.Email, Role: api.Role(u.Role), CreatedAt: u.CreatedAt,
		SuspendedAt: u.SuspendedAt, DeletedAt: u.DeletedAt}
	if u.SuspendedAt != nil && u.SuspensionReason != "" {
		reason := u.SuspensionReason
		out.SuspensionReason = &reason
	}
	return out
}
