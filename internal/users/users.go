package users

import (
	"context"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/store"
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

// Create validates p, hashes the password and inserts the user, audited as
// done by actor (uuid.Nil for the system). 409 username_taken / email_taken.
func (s *Service) Create(ctx context.Context, actor uuid.UUID, p CreateParams) (api.User, error) {
	panic("TODO")
}

// Ensure creates the user if the username is free, and sets its password
// when it exists; for the dev seed. It reports whether it created the user.
func (s *Service) Ensure(ctx context.Context, p CreateParams) (created bool, err error) {
	panic("TODO")
}
