package auth

import (
	"context"
	"log/slog"

	"github.com/google/uuid"
)

// MarkSuspended flags userID as suspended (on) or clears the flag (off) on
// the deny-list every replica consults: while it is set, every access token
// of the user is refused with 403 account_suspended. Call it after the
// transaction that suspended the user (and revoked their refresh tokens)
// commits. The flag lasts as long as any token issued before could still
// pass Authenticate; no new one is issued to a suspended user. The kv store
// fails open, as for DenySessions: the failure is logged and counted.
func (s *Service) MarkSuspended(ctx context.Context, userID uuid.UUID, on bool) {
	var err error
	if on {
		err = s.hot.SetFlag(ctx, suspendedKey(userID), s.cfg.AccessTTL+leeway)
	} else {
		err = s.hot.Delete(ctx, suspendedKey(userID))
	}
	if err != nil {
		slog.WarnContext(ctx, "deny-list suspension failed", "user", userID, "on", on, "err", err)
		s.lim.FailOpen("denylist")
	}
}
