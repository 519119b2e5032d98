package nodeauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/secrets"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Error codes.
const (
	CodeInvalidJoinToken  = "invalid_join_token"
	CodeJoinTokenExpired  = "join_token_expired"
	CodeJoinTokenUsed     = "join_token_used"
	CodeJoinTokenRevoked  = "join_token_revoked"
	CodeInvalidCredential = "invalid_node_credential"
)

// Token prefixes make a leaked secret recognisable (and greppable by
// secret scanners).
const (
	joinPrefix       = "gpj_"
	credentialPrefix = "gpn_"
)

// DefaultJoinTTL is how long a join token lives.
const DefaultJoinTTL = time.Hour

// Service issues join tokens and node credentials.
type Service struct {
	store *store.Store
	now   func() time.Time
}

// New returns a Service; now may be nil (time.Now).
func New(st *store.Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: st, now: now}
}

// JoinToken is a freshly issued token; the secret is shown only once.
type JoinToken struct {
	NodeID    uuid.UUID
	Token     string
	ExpiresAt time.Time
}

// IssueJoinToken makes a one-time join token for node, valid for ttl. The
// node's older unused tokens are revoked in the same transaction, so a
// token that leaked from an earlier attempt cannot join after a new one was
// issued.
func (s *Service) IssueJoinToken(ctx context.Context, actor, nodeID uuid.UUID, ttl time.Duration) (JoinToken, error) {
	if ttl <= 0 {
		ttl = DefaultJoinTTL
	}
	token := secrets.Token(joinPrefix)
	out := JoinToken{NodeID: nodeID, Token: token}
	err := s.store.InTx(ctx, func(tx *store.Store) error {
		if n, err := tx.GetNode(ctx, nodeID); store.IsNoRows(err) {
			return apperr.NotFound("node")
		} else if err != nil {
			return err
		} else if n.AdminState == "decommissioned" {
			return apperr.Conflict("invalid_state", "node is decommissioned; register the host again as a new node")
		}
		revoked, err := tx.RevokeUnusedJoinTokens(ctx, nodeID)
		if err != nil {
			return err
		}
		row, err := tx.InsertJoinToken(ctx, db.InsertJoinTokenParams{
			NodeID: nodeID, TokenHash: hash(token), CreatedBy: uuid.NullUUID{UUID: actor, Valid: actor != uuid.Nil},
			ExpiresAt: s.now().Add(ttl),
		})
		if err != nil {
			return err
		}
		out.ExpiresAt = row.ExpiresAt
		return audit.Record(ctx, tx.Queries, audit.Entry{
			Actor: actor, Action: audit.ActionNodeJoinTokenIssued, TargetType: "node", TargetID: nodeID.String(),
			Metadata: map[string]any{"expires_at": row.ExpiresAt.UTC().Format(time.RFC3339), "revoked_older": revoked},
		})
	})
	if err != nil {
		return JoinToken{}, fmt.Errorf("issue join token: %w", err)
	}
	return out, nil
}

// Join trades a join token, once, for a new node credential. The credential
// replaces the node's earlier ones, which are revoked in the same
// transaction: a node has one live credential, the last it joined with.
func (s *Service) Join(ctx context.Context, token string) (nodeID uuid.UUID, credential string, err error) {
	if !strings.HasPrefix(token, joinPrefix) || len(token) > 128 {
		return uuid.Nil, "", apperr.Unauthorized(CodeInvalidJoinToken, "not a join token")
	}
	secret := secrets.Token("")
	err = s.store.InTx(ctx, func(tx *store.Store) error {
		jt, err := tx.GetJoinTokenForUpdate(ctx, hash(token))
		if store.IsNoRows(err) {
			return apperr.Unauthorized(CodeInvalidJoinToken, "unknown join token")
		}
		if err != nil {
			return err
		}
		switch {
		case jt.UsedAt != nil:
			return apperr.Unauthorized(CodeJoinTokenUsed, "this join token was used already; issue a new one")
		case jt.RevokedAt != nil:
			return apperr.Unauthorized(CodeJoinTokenRevoked, "a newer join token was issued for this node; use that one")
		case !s.now().Before(jt.ExpiresAt):
			return apperr.Unauthorized(CodeJoinTokenExpired, "this join token expired at %s; issue a new one", jt.ExpiresAt.UTC().Format(time.RFC3339))
		}
		if err := tx.UseJoinToken(ctx, jt.ID); err != nil {
			return err
		}
		replaced, err := tx.RevokeNodeCredentials(ctx, jt.NodeID)
		if err != nil {
			return err
		}
		cred, err := tx.InsertNodeCredential(ctx, db.InsertNodeCredentialParams{NodeID: jt.NodeID, SecretHash: hash(secret)})
		if err != nil {
			return err
		}
		nodeID = jt.NodeID
		credential = credentialPrefix + cred.ID.String() + "." + secret
		return audit.Record(ctx, tx.Queries, audit.Entry{
			Action: audit.ActionNodeJoined, TargetType: "node", TargetID: jt.NodeID.String(),
			Metadata: map[string]any{"credential_id": cred.ID.String(), "revoked_credentials": replaced},
		})
	})
	if err != nil {
		return uuid.Nil, "", fmt.Errorf("join: %w", err)
	}
	return nodeID, credential, nil
}

// Authenticate returns the node a credential belongs to; a revoked, forged
// or malformed one is 401 invalid_node_credential.
func (s *Service) Authenticate(ctx context.Context, credential string) (uuid.UUID, error) {
	bad := apperr.Unauthorized(CodeInvalidCredential, "invalid node credential")
	rest, ok := strings.CutPrefix(credential, credentialPrefix)
	if !ok {
		return uuid.Nil, bad
	}
	idPart, secret, ok := strings.Cut(rest, ".")
	id, err := uuid.Parse(idPart)
	if !ok || err != nil || secret == "" {
		return uuid.Nil, bad
	}
	cred, err := s.store.GetNodeCredential(ctx, id)
	if store.IsNoRows(err) {
		return uuid.Nil, bad
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("look up node credential: %w", err)
	}
	if cred.RevokedAt != nil || subtle.ConstantTimeCompare(cred.SecretHash, hash(secret)) != 1 {
		return uuid.Nil, bad
	}
	return cred.NodeID, nil
}

// Revoke revokes every credential of node and reports how many; its agent
// must join again with a new token.
func (s *Service) Revoke(ctx context.Context, actor, nodeID uuid.UUID) (int64, error) {
	var n int64
	err := s.store.InTx(ctx, func(tx *store.Store) error {
		if _, err := tx.GetNode(ctx, nodeID); store.IsNoRows(err) {
			return apperr.NotFound("node")
		} else if err != nil {
			return err
		}
		var err error
		if n, err = tx.RevokeNodeCredentials(ctx, nodeID); err != nil {
			return err
		}
		return audit.Record(ctx, tx.Queries, audit.Entry{
			Actor: actor, Action: audit.ActionNodeCredentialsRevoked, TargetType: "node", TargetID: nodeID.String(),
			Metadata: map[string]any{"revoked": n},
		})
	})
	if err != nil {
		return 0, fmt.Errorf("revoke node credentials: %w", err)
	}
	return n, nil
}

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}
