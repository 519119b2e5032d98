package users

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Error codes of the admin controls.
const (
	CodeEmailTaken         = "email_taken"
	CodeUserHasAllocations = "user_has_allocations"
	CodeUserHasBalance     = "user_has_balance"
)

// MaxSuspensionReason is the longest suspension reason, in characters.
const MaxSuspensionReason = 500

// Accounts is what the admin controls need of package auth: ending
// sessions, and flagging a suspended user on the deny-list every replica
// consults.
type Accounts interface {
	SessionEnder
	// MarkSuspended sets (on) or clears the user's suspension flag; called
	// after commit.
	MarkSuspended(ctx context.Context, userID uuid.UUID, on bool)
}

// Releaser force-releases an allocation inside the caller's transaction;
// package allocation implements it.
type Releaser interface {
	ForceReleaseIn(ctx context.Context, tx *store.Store, actor, id uuid.UUID, reason string) error
}

// UpdateParams is an admin's change to a user; nil fields stay as they are.
type UpdateParams struct {
	Role  *string
	Email *string
}

// Update changes a user's role, email or both in one transaction, each
// change audited. A changed role ends every session of the user (see
// SetRole). An empty change is 400; a taken email 409 email_taken.
func (s *Service) Update(ctx context.Context, actor, id uuid.UUID, p UpdateParams, sessions SessionEnder) (api.User, error) {
	if p.Role == nil && p.Email == nil {
		return api.User{}, apperr.Invalid("send role, email or both")
	}
	if p.Role != nil && *p.Role != string(api.RoleUser) && *p.Role != string(api.RoleAdmin) {
		return api.User{}, apperr.Invalid("role must be %q or %q", api.RoleUser, api.RoleAdmin)
	}
	var email string
	if p.Email != nil {
		email = strings.TrimSpace(*p.Email)
		if err := validEmail(email); err != nil {
			return api.User{}, err
		}
	}
	var u db.User
	var ended []uuid.UUID
	err := s.store.InTx(ctx, func(tx *store.Store) error {
		old, err := s.lockLive(ctx, tx, id)
		if err != nil {
			return err
		}
		u = old
		if p.Email != nil && old.Email != email {
			if u, err = tx.SetUserEmail(ctx, db.SetUserEmailParams{ID: id, Email: email}); err != nil {
				return err
			}
			if err := audit.Record(ctx, tx.Queries, audit.Entry{
				Actor: actor, Action: audit.ActionUserEmailChanged, TargetType: "user", TargetID: id.String(),
				Metadata: map[string]any{"from": old.Email, "to": email},
			}); err != nil {
				return err
			}
		}
		if p.Role != nil && old.Role != *p.Role {
			if u, err = tx.SetUserRole(ctx, db.SetUserRoleParams{ID: id, Role: *p.Role}); err != nil {
				return fmt.Errorf("set role: %w", err)
			}
			if ended, err = sessions.EndUserSessionsIn(ctx, tx, id, uuid.Nil); err != nil {
				return err
			}
			return audit.Record(ctx, tx.Queries, audit.Entry{
				Actor: actor, Action: audit.ActionUserRoleChanged, TargetType: "user", TargetID: id.String(),
				Metadata: map[string]any{"from": old.Role, "to": *p.Role, "sessions_revoked": len(ended)},
			})
		}
		return nil
	})
	switch {
	case store.IsUniqueViolation(err, "users_email_key"):
		return api.User{}, apperr.Conflict(CodeEmailTaken, "email %q is already registered", email)
	case err != nil:
		return api.User{}, fmt.Errorf("update user %s: %w", id, err)
	}
	sessions.DenySessions(ctx, ended...)
	return ToAPI(u), nil
}

// Suspend stops a user: no sign-in, no refresh, no create, and every
// session ended, with each token they hold refused as account_suspended on
// every replica once the transaction commits. With release, their
// requested, provisioning and active allocations are force-released in the
// same transaction; otherwise they keep running. Suspending again updates
// the reason. An admin cannot suspend themselves.
func (s *Service) Suspend(ctx context.Context, actor, id uuid.UUID, reason string, release bool, acc Accounts, rel Releaser) (api.User, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || !utf8.ValidString(reason) || utf8.RuneCountInString(reason) > MaxSuspensionReason {
		return api.User{}, apperr.Invalid("reason is required, at most %d characters", MaxSuspensionReason)
	}
	if actor == id {
		return api.User{}, apperr.Invalid("you cannot suspend your own account")
	}
	var u db.User
	var ended []uuid.UUID
	err := s.store.InTx(ctx, func(tx *store.Store) error {
		if _, err := s.lockLive(ctx, tx, id); err != nil {
			return err
		}
		var err error
		if u, err = tx.SuspendUser(ctx, db.SuspendUserParams{ID: id, Reason: reason}); err != nil {
			return fmt.Errorf("suspend: %w", err)
		}
		if ended, err = acc.EndUserSessionsIn(ctx, tx, id, uuid.Nil); err != nil {
			return err
		}
		released := []string{}
		if release {
			ids, err := tx.ListUserLiveAllocationIDs(ctx, id)
			if err != nil {
				return fmt.Errorf("list allocations to release: %w", err)
			}
			for _, a := range ids {
				if err := rel.ForceReleaseIn(ctx, tx, actor, a, "admin: account suspended: "+reason); err != nil {
					return fmt.Errorf("release allocation %s: %w", a, err)
				}
				released = append(released, a.String())
			}
		}
		return audit.Record(ctx, tx.Queries, audit.Entry{
			Actor: actor, Action: audit.ActionUserSuspended, TargetType: "user", TargetID: id.String(),
			Metadata: map[string]any{"reason": reason, "release_allocations": release, "released": released, "sessions_revoked": len(ended)},
		})
	})
	if err != nil {
		return api.User{}, fmt.Errorf("suspend user %s: %w", id, err)
	}
	acc.MarkSuspended(ctx, id, true)
	acc.DenySessions(ctx, ended...)
	return ToAPI(u), nil
}

// Unsuspend lets a suspended user sign in again; sessions the suspension
// ended stay ended. A user who is not suspended is left as is.
func (s *Service) Unsuspend(ctx context.Context, actor, id uuid.UUID, acc Accounts) (api.User, error) {
	var u db.User
	err := s.store.InTx(ctx, func(tx *store.Store) error {
		old, err := s.lockLive(ctx, tx, id)
		if err != nil {
			return err
		}
		if u = old; old.SuspendedAt == nil {
			return nil
		}
		if u, err = tx.UnsuspendUser(ctx, id); err != nil {
			return fmt.Errorf("unsuspend: %w", err)
		}
		return audit.Record(ctx, tx.Queries, audit.Entry{
			Actor: actor, Action: audit.ActionUserUnsuspended, TargetType: "user", TargetID: id.String(),
			Metadata: map[string]any{"suspended_at": old.SuspendedAt.UTC()},
		})
	})
	if err != nil {
		return api.User{}, fmt.Errorf("unsuspend user %s: %w", id, err)
	}
	acc.MarkSuspended(ctx, id, false)
	return ToAPI(u), nil
}

// Delete removes a user's personal data and keeps the ledger: refused with
// 409 user_has_allocations while they hold an allocation that is not over,
// else 409 user_has_balance while any balance is not zero. Otherwise the
// username and email are anonymised, the password made unusable, SSH keys,
// sessions, notifications and reset links deleted, and every token refused.
// The row stays, suspended and marked deleted, because the ledger and the
// audit log refer to it. An admin cannot delete themselves.
func (s *Service) Delete(ctx context.Context, actor, id uuid.UUID, acc Accounts) error {
	if actor == id {
		return apperr.Invalid("you cannot delete your own account")
	}
	var sids []uuid.UUID
	err := s.store.InTx(ctx, func(tx *store.Store) error {
		// The row lock makes a create (which takes it FOR SHARE) wait, so no
		// allocation appears between the check and the deletion.
		if _, err := s.lockLive(ctx, tx, id); err != nil {
			return err
		}
		held, err := tx.CountUserHeldAllocations(ctx, id)
		if err != nil {
			return fmt.Errorf("count allocations: %w", err)
		}
		if held > 0 {
			return &apperr.Error{Kind: apperr.KindConflict, Code: CodeUserHasAllocations,
				Message: fmt.Sprintf("the user holds %d allocation(s) that are not released; release them first", held),
				Details: map[string]any{"allocations": held}}
		}
		balances, err := tx.LockUserBalances(ctx, uuid.NullUUID{UUID: id, Valid: true})
		if err != nil {
			return fmt.Errorf("lock balances: %w", err)
		}
		for _, b := range balances {
			if b.BalanceMinor != 0 {
				return &apperr.Error{Kind: apperr.KindConflict, Code: CodeUserHasBalance,
					Message: "the user's balance is not zero; refund or adjust it to zero first",
					Details: map[string]any{"balance_minor": b.BalanceMinor, "currency": b.Currency}}
			}
		}
		anon := "deleted-" + strings.ReplaceAll(id.String(), "-", "")
		if _, err := tx.AnonymiseUser(ctx, db.AnonymiseUserParams{ID: id, Username: anon, Email: anon + "@deleted.invalid"}); err != nil {
			return fmt.Errorf("anonymise: %w", err)
		}
		if sids, err = tx.DeleteUserRefreshTokens(ctx, id); err != nil {
			return fmt.Errorf("delete sessions: %w", err)
		}
		keys, err := tx.DeleteUserSSHKeys(ctx, id)
		if err != nil {
			return fmt.Errorf("delete ssh keys: %w", err)
		}
		if _, err := tx.DeleteUserNotifications(ctx, id); err != nil {
			return fmt.Errorf("delete notifications: %w", err)
		}
		if _, err := tx.DeleteUserPasswordResets(ctx, id); err != nil {
			return fmt.Errorf("delete reset links: %w", err)
		}
		return audit.Record(ctx, tx.Queries, audit.Entry{
			Actor: actor, Action: audit.ActionUserDeleted, TargetType: "user", TargetID: id.String(),
			Metadata: map[string]any{"ssh_keys_deleted": keys, "sessions_revoked": len(uniq(sids))},
		})
	})
	if err != nil {
		return fmt.Errorf("delete user %s: %w", id, err)
	}
	acc.MarkSuspended(ctx, id, true)
	acc.DenySessions(ctx, uniq(sids)...)
	return nil
}

// lockLive locks a user's row for a change; a deleted user is not found.
func (s *Service) lockLive(ctx context.Context, tx *store.Store, id uuid.UUID) (db.User, error) {
	u, err := tx.GetUserForUpdate(ctx, id)
	if store.IsNoRows(err) || err == nil && u.DeletedAt != nil {
		return db.User{}, apperr.NotFound("user")
	}
	if err != nil {
		return db.User{}, fmt.Errorf("lock user: %w", err)
	}
	return u, nil
}

func validEmail(email string) error {
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || len(email) > 254 || !strings.Contains(email, "@") {
		return apperr.Invalid("email must be a plain address such as ada@example.com")
	}
	return nil
}

func uniq(ids []uuid.UUID) []uuid.UUID {
	seen := make(map[uuid.UUID]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
