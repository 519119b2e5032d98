package sshkeys

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// MaxPerUser is how many keys one user may hold.
const MaxPerUser = 32

// Codes of the 409s this package returns.
const (
	CodeDuplicate   = "duplicate_key"
	CodeTooManyKeys = "too_many_keys"
)

// Service manages SSH keys.
type Service struct {
	store  *store.Store
	naming events.Naming
}

// New returns a Service over st; its ssh_keys.changed events go out under
// n's namespace.
func New(st *store.Store, n events.Naming) *Service { return &Service{store: st, naming: n} }

// recordChange writes a key change's audit row and the ssh_keys.changed
// event that carries it to the user's running allocations, in tx.
func (s *Service) recordChange(ctx context.Context, tx *store.Store, user uuid.UUID, e audit.Entry) error {
	ev, err := events.Row(s.naming, events.SSHKeysChanged, events.SSHKeys{UserID: user, At: time.Now().UTC()})
	if err != nil {
		return err
	}
	return audit.RecordWithEvent(ctx, tx, e, ev)
}

// AddParams is what a user sends.
type AddParams struct {
	Name      string
	PublicKey string
}

// Add vets and stores a key for user, audited in the same transaction. The
// same key twice is 409 duplicate_key; past the cap, 409 too_many_keys.
func (s *Service) Add(ctx context.Context, user uuid.UUID, p AddParams) (api.SSHKey, error) {
	name, err := CheckName(p.Name)
	if err != nil {
		return api.SSHKey{}, err
	}
	k, err := ParseKey(p.PublicKey)
	if err != nil {
		return api.SSHKey{}, err
	}
	var row db.SshKey
	err = s.store.InTx(ctx, func(tx *store.Store) error {
		if err := tx.LockUserSSHKeys(ctx, user); err != nil {
			return fmt.Errorf("lock keys: %w", err)
		}
		n, err := tx.CountSSHKeys(ctx, user)
		if err != nil {
			return fmt.Errorf("count keys: %w", err)
		}
		if n >= int64(MaxPerUser) {
			return apperr.Conflict(CodeTooManyKeys, "you already have %d SSH keys, the most allowed; delete one first", n)
		}
		row, err = tx.CreateSSHKey(ctx, db.CreateSSHKeyParams{
			UserID: user, Name: name, PublicKey: k.PublicKey, Fingerprint: k.Fingerprint,
			KeyType: k.Type, Bits: int32(k.Bits),
		})
		if err != nil {
			return err
		}
		return s.recordChange(ctx, tx, user, audit.Entry{
			Actor: user, Action: audit.ActionSSHKeyAdded, TargetType: "ssh_key", TargetID: row.ID.String(),
			Metadata: map[string]any{"fingerprint": row.Fingerprint, "name": row.Name},
		})
	})
	switch {
	case store.IsUniqueViolation(err, "ssh_keys_user_fingerprint_key"):
		return api.SSHKey{}, apperr.Conflict(CodeDuplicate, "you already added the key %s", k.Fingerprint)
	case err != nil:
		return api.SSHKey{}, fmt.Errorf("add ssh key: %w", err)
	}
	return ToAPI(row), nil
}

// Delete removes one of user's keys, audited. Another user's key, or none,
// is 404.
func (s *Service) Delete(ctx context.Context, user, id uuid.UUID) error {
	err := s.store.InTx(ctx, func(tx *store.Store) error {
		row, err := tx.DeleteSSHKey(ctx, db.DeleteSSHKeyParams{ID: id, UserID: user})
		if store.IsNoRows(err) {
			return apperr.NotFound("ssh key")
		}
		if err != nil {
			return fmt.Errorf("delete ssh key: %w", err)
		}
		return s.recordChange(ctx, tx, user, audit.Entry{
			Actor: user, Action: audit.ActionSSHKeyDeleted, TargetType: "ssh_key", TargetID: row.ID.String(),
			Metadata: map[string]any{"fingerprint": row.Fingerprint, "name": row.Name},
		})
	})
	return err
}

// Cursor is the position after the last key of a page.
type Cursor struct {
	CreatedAt string    `json:"t"`
	ID        uuid.UUID `json:"id"`
}

// Cursor times keep Postgres' microseconds, so paging never skips keys
// added in the same millisecond.
const cursorTimeLayout = "2006-01-02T15:04:05.999999Z07:00"

// List returns up to limit of user's keys after cursor (nil for the first
// page), newest first, and the next page's cursor (nil at the end).
func (s *Service) List(ctx context.Context, user uuid.UUID, after *Cursor, limit int) ([]api.SSHKey, *Cursor, error) {
	params := db.ListSSHKeysParams{UserID: user, PageLimit: int32(limit + 1)}
	if after != nil {
		t, err := time.Parse(cursorTimeLayout, after.CreatedAt)
		if err != nil {
			return nil, nil, apperr.Invalid("cursor is not one this server issued")
		}
		params.CursorTime, params.CursorID = &t, uuid.NullUUID{UUID: after.ID, Valid: true}
	}
	rows, err := s.store.ListSSHKeys(ctx, params)
	if err != nil {
		return nil, nil, fmt.Errorf("list ssh keys: %w", err)
	}
	var next *Cursor
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[len(rows)-1]
		next = &Cursor{CreatedAt: last.CreatedAt.UTC().Format(cursorTimeLayout), ID: last.ID}
	}
	out := make([]api.SSHKey, len(rows))
	for i, r := range rows {
		out[i] = ToAPI(r)
	}
	return out, next, nil
}

// AllocationKeys returns the keys allocation installs as authorized_keys
// lines, oldest first: those it was created with (ssh_key_ids) that its
// owner still holds, or all of the owner's keys when it named none.
func (s *Service) AllocationKeys(ctx context.Context, allocation uuid.UUID) ([]string, error) {
	keys, err := s.store.AllocationAuthorizedKeys(ctx, allocation)
	if err != nil {
		return nil, fmt.Errorf("list keys of allocation %s: %w", allocation, err)
	}
	return keys, nil
}

// ToAPI renders a key row.
func ToAPI(r db.SshKey) api.SSHKey {
	return api.SSHKey{Id: r.ID, Name: r.Name, PublicKey: r.PublicKey, Fingerprint: r.Fingerprint,
		KeyType: r.KeyType, Bits: int(r.Bits), CreatedAt: r.CreatedAt}
}
