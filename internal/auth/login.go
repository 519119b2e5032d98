package auth

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/password"
	"github.com/gpuaas/gpuaas/internal/ratelimit"
	"github.com/gpuaas/gpuaas/internal/reqctx"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Reasons recorded on auth.login_failed.
const (
	reasonUnknownUser = "unknown_user"
	reasonBadPassword = "bad_password"
	reasonRateLimited = "rate_limited"
	reasonSuspended   = "suspended"
	reasonPersonalOff = "personal_login_disabled"
)

// maxAuditUsername bounds what an anonymous caller can write into the
// audit log and the kv keys; real usernames are at most 63 characters.
const maxAuditUsername = 64

func errBadCredentials() *apperr.Error {
	return apperr.Unauthorized(CodeInvalidCredentials, "invalid username or password")
}

// Login checks a username and password and starts a session. Wrong password
// and unknown user give the same error after the same work. A limited
// attempt is refused before the password is looked at; the limits are
// written up in docs/api.md ("Sign-in limits"):
//
//   - attempts per client address (reqctx.ClientIP; none when empty);
//   - failures per (username, address) pair: LoginUserFailures lock that
//     pair only, so an attacker's guesses never lock the user out of their
//     own address;
//   - failures per username from all addresses: LoginUsernameFailures close
//     the username to every address except the user's usual ones (where
//     they signed in within KnownAddressTTL), which slows a guesser spread
//     over many addresses without refusing the right password at home.
func (s *Service) Login(ctx context.Context, username, pw string) (api.TokenPair, error) {
	lower := strings.ToLower(username)
	// name keys the counters and the audit rows; it is bounded because the
	// caller is anonymous. Real usernames are shorter, so it is the same.
	name := truncate(lower, maxAuditUsername)
	ip := reqctx.ClientIP(ctx)
	if err := s.throttleLogin(ctx, name, ip); err != nil {
		s.logins.WithLabelValues("rate_limited").Inc()
		return api.TokenPair{}, err
	}

	u, err := s.st.GetUserByUsername(ctx, lower)
	if err != nil && !store.IsNoRows(err) {
		return api.TokenPair{}, fmt.Errorf("get user: %w", err)
	}
	// A deleted user's anonymised name signs nobody in.
	if err != nil || u.DeletedAt != nil {
		password.DummyVerify()
		return api.TokenPair{}, s.loginFailed(ctx, uuid.Nil, name, ip, reasonUnknownUser)
	}
	ok, err := password.Verify(u.PasswordHash, pw)
	if err != nil {
		return api.TokenPair{}, fmt.Errorf("verify password of %s: %w", u.ID, err)
	}
	if !ok {
		return api.TokenPair{}, s.loginFailed(ctx, u.ID, name, ip, reasonBadPassword)
	}
	// Said only to whoever knows the password, so it reveals nothing to a
	// guesser.
	if u.SuspendedAt != nil {
		s.auditLoginFailed(ctx, u.ID, name, reasonSuspended)
		s.logins.WithLabelValues("suspended").Inc()
		return api.TokenPair{}, errSuspended()
	}
	// Also said only after the password: a guesser learns nothing.
	if s.cfg.AdminsOnlyPersonalLogin && u.Role != string(api.RoleAdmin) {
		s.auditLoginFailed(ctx, u.ID, name, reasonPersonalOff)
		s.logins.WithLabelValues("personal_login_disabled").Inc()
		return api.TokenPair{}, apperr.ForbiddenCode(CodePersonalLoginDisabled,
			"password sign-in is turned off; sign in through your organisation's identity provider")
	}

	if err := s.hot.Delete(ctx, pairKey(name, ip)); err != nil {
		slog.WarnContext(ctx, "reset login failure counter failed", "err", err)
		s.lim.FailOpen("login_user")
	}
	if ip != "" {
		if err := s.hot.SetFlag(ctx, knownKey(name, ip), KnownAddressTTL); err != nil {
			slog.WarnContext(ctx, "remember sign-in address failed", "err", err)
			s.lim.FailOpen("login_known_address")
		}
	}
	sk, err := s.signingKey(ctx)
	if err != nil {
		return api.TokenPair{}, fmt.Errorf("start session: %w", err)
	}
	var pair api.TokenPair
	err = s.st.InTx(ctx, func(tx *store.Store) error {
		if password.NeedsRehash(u.PasswordHash) {
			if err := s.upgradeHash(ctx, tx, u.ID, pw); err != nil {
				return err
			}
		}
		var err error
		if pair, _, err = s.issuePair(ctx, tx, sk, u, uuid.New()); err != nil {
			return err
		}
		return audit.Record(ctx, tx.Queries, audit.Entry{
			Actor: u.ID, Action: audit.ActionLoginSucceeded,
			TargetType: "user", TargetID: u.ID.String(),
			Metadata: map[string]any{"username": u.Username},
		})
	})
	if err != nil {
		return api.TokenPair{}, fmt.Errorf("start session: %w", err)
	}
	s.logins.WithLabelValues("success").Inc()
	return pair, nil
}

// throttleLogin applies the per-address limit, the per-pair lockout, then
// the per-username cap. Only the first refusal in a window is audited, so a
// flood of refused attempts does not become a flood of database writes.
func (s *Service) throttleLogin(ctx context.Context, name, ip string) error {
	if ip != "" {
		n, ttl, err := s.hot.Incr(ctx, "login:ip:"+ip, s.cfg.LoginIPWindow)
		switch {
		case err != nil:
			slog.WarnContext(ctx, "login address counter failed; not limiting", "err", err)
			s.lim.FailOpen("login_ip")
		case n > int64(s.cfg.LoginIPAttempts):
			if n == int64(s.cfg.LoginIPAttempts)+1 {
				s.auditLoginFailed(ctx, uuid.Nil, name, reasonRateLimited)
			}
			return ratelimit.Limited(ttl)
		}
	}
	if err := s.checkLockout(ctx, pairKey(name, ip), s.cfg.LoginUserFailures, name); err != nil {
		return err
	}
	n, _, err := s.hot.Count(ctx, failKey(name))
	if err != nil {
		slog.WarnContext(ctx, "login failure counter failed; not limiting", "err", err)
		s.lim.FailOpen("login_user")
		return nil
	}
	if n < int64(s.cfg.LoginUsernameFailures) {
		return nil
	}
	if ip != "" {
		known, err := s.hot.HasFlag(ctx, knownKey(name, ip))
		if err != nil {
			slog.WarnContext(ctx, "sign-in address lookup failed; not limiting", "err", err)
			s.lim.FailOpen("login_known_address")
			return nil
		}
		if known {
			return nil
		}
	}
	return s.checkLockout(ctx, failKey(name), s.cfg.LoginUsernameFailures, name)
}

// checkLockout refuses when key holds limit failures in the current window.
func (s *Service) checkLockout(ctx context.Context, key string, limit int, name string) error {
	n, ttl, err := s.hot.Count(ctx, key)
	if err != nil {
		slog.WarnContext(ctx, "login failure counter failed; not limiting", "err", err)
		s.lim.FailOpen("login_user")
		return nil
	}
	if n < int64(limit) {
		return nil
	}
	if n == int64(limit) {
		// Bump past the threshold so later refusals are not audited again;
		// Incr keeps the window's original expiry.
		if _, _, err := s.hot.Incr(ctx, key, s.cfg.LoginUserWindow); err == nil {
			s.auditLoginFailed(ctx, uuid.Nil, name, reasonRateLimited)
		}
	}
	return ratelimit.Limited(ttl)
}

// loginFailed counts a failed attempt against the (username, address) pair
// and the username, audits it and returns the one error every credential
// failure shares.
func (s *Service) loginFailed(ctx context.Context, actor uuid.UUID, name, ip, reason string) error {
	for _, key := range []string{pairKey(name, ip), failKey(name)} {
		if _, _, err := s.hot.Incr(ctx, key, s.cfg.LoginUserWindow); err != nil {
			slog.WarnContext(ctx, "count login failure failed", "err", err)
			s.lim.FailOpen("login_user")
		}
	}
	s.auditLoginFailed(ctx, actor, name, reason)
	s.logins.WithLabelValues("invalid_credentials").Inc()
	return errBadCredentials()
}

// auditLoginFailed writes its row in its own short transaction; a failure
// to audit is logged, not shown to the caller (the attempt failed anyway).
func (s *Service) auditLoginFailed(ctx context.Context, actor uuid.UUID, name, reason string) {
	if actor == uuid.Nil && reason == reasonRateLimited {
		// The limiter refuses before looking the user up; the row is still
		// more useful with the account it was aimed at.
		if u, err := s.st.GetUserByUsername(ctx, name); err == nil {
			actor = u.ID
		}
	}
	e := audit.Entry{
		Actor: actor, Action: audit.ActionLoginFailed, TargetType: "user",
		Metadata: map[string]any{"username": name, "reason": reason},
	}
	if actor != uuid.Nil {
		e.TargetID = actor.String()
	}
	err := s.st.InTx(ctx, func(tx *store.Store) error {
		return audit.Record(ctx, tx.Queries, e)
	})
	if err != nil {
		slog.ErrorContext(ctx, "audit failed login", "err", err)
	}
}

func (s *Service) upgradeHash(ctx context.Context, tx *store.Store, id uuid.UUID, pw string) error {
	h, err := password.Hash(pw)
	if err != nil {
		return err
	}
	if err := tx.SetUserPassword(ctx, db.SetUserPasswordParams{ID: id, PasswordHash: h}); err != nil {
		return fmt.Errorf("upgrade password hash: %w", err)
	}
	return nil
}

// failKey counts a username's failures from every address.
func failKey(name string) string { return "login:fail:" + name }

// pairKey counts a username's failures from one address, and knownKey marks
// an address the user signed in from. The address comes first and holds no
// space, so no (name, address) pair can collide with another.
func pairKey(name, ip string) string { return "login:failpair:" + ip + " " + name }

func knownKey(name, ip string) string { return "login:known:" + ip + " " + name }

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
