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
)

// maxAuditUsername bounds what an anonymous caller can write into the
// audit log and the kv keys; real usernames are at most 63 characters.
const maxAuditUsername = 64

func errBadCredentials() *apperr.Error {
	return apperr.Unauthorized(CodeInvalidCredentials, "invalid username or password")
}

// Login checks a username and password and starts a session. Wrong password
// and unknown user give the same error after the same work. Attempts are
// limited per client address (reqctx.ClientIP; no limit when it is empty)
// and failures per username; a limited attempt is refused before the
// password is looked at.
func (s *Service) Login(ctx context.Context, username, pw string) (api.TokenPair, error) {
	lower := strings.ToLower(username)
	// name keys the counters and the audit rows; it is bounded because the
	// caller is anonymous. Real usernames are shorter, so it is the same.
	name := truncate(lower, maxAuditUsername)
	if err := s.throttleLogin(ctx, name); err != nil {
		s.logins.WithLabelValues("rate_limited").Inc()
		return api.TokenPair{}, err
	}

	u, err := s.st.GetUserByUsername(ctx, lower)
	if err != nil && !store.IsNoRows(err) {
		return api.TokenPair{}, fmt.Errorf("get user: %w", err)
	}
	if err != nil {
		password.DummyVerify()
		return api.TokenPair{}, s.loginFailed(ctx, uuid.Nil, name, reasonUnknownUser)
	}
	ok, err := password.Verify(u.PasswordHash, pw)
	if err != nil {
		return api.TokenPair{}, fmt.Errorf("verify password of %s: %w", u.ID, err)
	}
	if !ok {
		return api.TokenPair{}, s.loginFailed(ctx, u.ID, name, reasonBadPassword)
	}

	if err := s.hot.Delete(ctx, failKey(name)); err != nil {
		slog.WarnContext(ctx, "reset login failure counter failed", "err", err)
		s.lim.FailOpen("login_user")
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

// throttleLogin applies the per-address limit, then the per-username
// lockout. Only the first refusal in a window is audited, so a flood of
// refused attempts does not become a flood of database writes.
func (s *Service) throttleLogin(ctx context.Context, name string) error {
	if ip := reqctx.ClientIP(ctx); ip != "" {
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
	return s.checkUserLockout(ctx, name)
}

// checkUserLockout refuses when name has LoginUserFailures failures in the
// current window.
func (s *Service) checkUserLockout(ctx context.Context, name string) error {
	n, ttl, err := s.hot.Count(ctx, failKey(name))
	if err != nil {
		slog.WarnContext(ctx, "login failure counter failed; not limiting", "err", err)
		s.lim.FailOpen("login_user")
		return nil
	}
	if n < int64(s.cfg.LoginUserFailures) {
		return nil
	}
	if n == int64(s.cfg.LoginUserFailures) {
		// Bump past the threshold so later refusals are not audited again;
		// Incr keeps the window's original expiry.
		if _, _, err := s.hot.Incr(ctx, failKey(name), s.cfg.LoginUserWindow); err == nil {
			s.auditLoginFailed(ctx, uuid.Nil, name, reasonRateLimited)
		}
	}
	return ratelimit.Limited(ttl)
}

// loginFailed counts a failed attempt against the username, audits it and
// returns the one error every credential failure shares.
func (s *Service) loginFailed(ctx context.Context, actor uuid.UUID, name, reason string) error {
	if _, _, err := s.hot.Incr(ctx, failKey(name), s.cfg.LoginUserWindow); err != nil {
		slog.WarnContext(ctx, "count login failure failed", "err", err)
		s.lim.FailOpen("login_user")
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

func failKey(name string) string { return "login:fail:" + name }

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
