package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/secrets"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

const algEdDSA = "EdDSA"

const (
	// reloadEvery bounds how long a replica keeps signing with a key another
	// replica has retired, and how long before it serves a new key in JWKS.
	reloadEvery = time.Minute
	// missReloadEvery bounds database reads caused by tokens naming a kid we
	// do not know: forged kids must not turn into a query per request.
	missReloadEvery = 5 * time.Second
)

var errNoSigningKey = errors.New("no active signing key (EnsureSigningKey not run?)")

// keyring caches the signing_keys rows. Verification accepts every key that
// is active or retired within the grace period; signing uses the newest
// active key, so when two replicas race to create the first key both keys
// verify and all replicas converge on one signer at their next reload.
type keyring struct {
	s *Service

	mu       sync.RWMutex
	verify   map[string]ed25519.PublicKey
	kids     []string // newest first, for JWKS
	signKid  string
	signKey  ed25519.PrivateKey
	loaded   bool
	loadedAt time.Time // time of the last load attempt

	reloadMu sync.Mutex // one reload at a time; guards lastMiss
	lastMiss time.Time
}

func newKeyring(s *Service) *keyring {
	return &keyring{s: s, verify: map[string]ed25519.PublicKey{}}
}

// grace is how long a retired key keeps verifying: a token it signed just
// before retirement lives AccessTTL (plus leeway), and a replica that has not
// reloaded yet may sign with it for up to reloadEvery after.
func (k *keyring) grace() time.Duration {
	return k.s.cfg.AccessTTL + reloadEvery + leeway
}

// load replaces the cache with the database's view.
func (k *keyring) load(ctx context.Context) error {
	rows, err := k.s.st.ListVerifyingKeys(ctx, pgtype.Interval{Microseconds: k.grace().Microseconds(), Valid: true})
	if err != nil {
		return fmt.Errorf("list signing keys: %w", err)
	}
	verify := make(map[string]ed25519.PublicKey, len(rows))
	kids := make([]string, 0, len(rows))
	var signKid string
	var signKey ed25519.PrivateKey
	for _, r := range rows {
		if r.Algorithm != algEdDSA || len(r.PublicKey) != ed25519.PublicKeySize {
			continue
		}
		verify[r.Kid] = ed25519.PublicKey(r.PublicKey)
		kids = append(kids, r.Kid)
		if signKey == nil && r.RetiredAt == nil {
			seed, err := secrets.Open(k.s.masterKey, r.PrivateKeyEnc, []byte(r.Kid))
			if err != nil {
				return fmt.Errorf("open signing key %s (is the master key the one it was sealed with?): %w", r.Kid, err)
			}
			if len(seed) != ed25519.SeedSize {
				return fmt.Errorf("open signing key %s: seed is %d bytes", r.Kid, len(seed))
			}
			signKid, signKey = r.Kid, ed25519.NewKeyFromSeed(seed)
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.verify, k.kids, k.signKid, k.signKey = verify, kids, signKid, signKey
	k.loaded, k.loadedAt = true, k.s.now()
	return nil
}

// fresh reloads when the cache is older than reloadEvery. A failed reload
// keeps the old cache (a database blip must not stop verification) and is
// retried after reloadEvery.
func (k *keyring) fresh(ctx context.Context) error {
	k.mu.RLock()
	ok := k.loaded && k.s.now().Sub(k.loadedAt) < reloadEvery
	k.mu.RUnlock()
	if ok {
		return nil
	}
	k.reloadMu.Lock()
	defer k.reloadMu.Unlock()
	k.mu.RLock()
	loaded, age := k.loaded, k.s.now().Sub(k.loadedAt)
	k.mu.RUnlock()
	if loaded && age < reloadEvery {
		return nil // another goroutine reloaded while we waited
	}
	err := k.load(ctx)
	if err != nil && loaded {
		slog.WarnContext(ctx, "reload signing keys failed; keeping cached keys", "err", err)
		k.mu.Lock()
		k.loadedAt = k.s.now()
		k.mu.Unlock()
		return nil
	}
	return err
}

// publicKey returns the verifying key kid, reloading once per
// missReloadEvery when kid is unknown (a key another replica just created).
func (k *keyring) publicKey(ctx context.Context, kid string) (ed25519.PublicKey, bool) {
	if err := k.fresh(ctx); err != nil {
		slog.WarnContext(ctx, "load signing keys failed", "err", err)
	}
	if pk, ok := k.lookup(kid); ok {
		return pk, true
	}
	k.reloadMu.Lock()
	now := k.s.now()
	if !k.lastMiss.IsZero() && now.Sub(k.lastMiss) < missReloadEvery {
		k.reloadMu.Unlock()
		return nil, false
	}
	k.lastMiss = now
	err := k.load(ctx)
	k.reloadMu.Unlock()
	if err != nil {
		slog.WarnContext(ctx, "reload signing keys for unknown kid failed", "err", err)
	}
	return k.lookup(kid)
}

// known reports whether kid still verifies, after a periodic reload.
func (k *keyring) known(ctx context.Context, kid string) bool {
	if err := k.fresh(ctx); err != nil {
		slog.WarnContext(ctx, "load signing keys failed", "err", err)
	}
	_, ok := k.lookup(kid)
	return ok
}

func (k *keyring) lookup(kid string) (ed25519.PublicKey, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	pk, ok := k.verify[kid]
	return pk, ok
}

func (k *keyring) signer(ctx context.Context) (string, ed25519.PrivateKey, error) {
	if err := k.fresh(ctx); err != nil {
		return "", nil, err
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.signKey == nil {
		return "", nil, errNoSigningKey
	}
	return k.signKid, k.signKey, nil
}

// EnsureSigningKey loads the signing keys and creates the first one if none
// is active. It fails when the active key cannot be opened with the master
// key, so a replica started with the wrong key file stops at boot instead of
// minting tokens nobody else accepts.
func (s *Service) EnsureSigningKey(ctx context.Context) error {
	if err := s.keys.load(ctx); err != nil {
		return err
	}
	if _, _, err := s.keys.signer(ctx); err == nil {
		return nil
	}
	if _, err := s.insertSigningKey(ctx, s.st); err != nil {
		return err
	}
	return s.keys.load(ctx)
}

// RotateSigningKey makes a new key the signer and retires the others; they
// keep verifying for AccessTTL plus a grace period, so no session breaks.
func (s *Service) RotateSigningKey(ctx context.Context, actor uuid.UUID) (string, error) {
	var kid string
	err := s.st.InTx(ctx, func(tx *store.Store) error {
		var err error
		if kid, err = s.insertSigningKey(ctx, tx); err != nil {
			return err
		}
		if err := tx.RetireSigningKeys(ctx, kid); err != nil {
			return fmt.Errorf("retire signing keys: %w", err)
		}
		return audit.Record(ctx, tx.Queries, audit.Entry{
			Actor: actor, Action: audit.ActionSigningKeyRotate,
			TargetType: "signing_key", TargetID: kid,
			Metadata: map[string]any{"kid": kid},
		})
	})
	if err != nil {
		return "", fmt.Errorf("rotate signing key: %w", err)
	}
	if err := s.keys.load(ctx); err != nil {
		return "", err
	}
	return kid, nil
}

func (s *Service) insertSigningKey(ctx context.Context, q *store.Store) (string, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", fmt.Errorf("generate signing key: %w", err)
	}
	kidBytes := make([]byte, 12)
	if _, err := rand.Read(kidBytes); err != nil {
		return "", fmt.Errorf("generate kid: %w", err)
	}
	kid := base64.RawURLEncoding.EncodeToString(kidBytes)
	// The kid is the associated data, so a sealed key copied onto another
	// row does not open.
	enc, err := secrets.Seal(s.masterKey, priv.Seed(), []byte(kid))
	if err != nil {
		return "", fmt.Errorf("seal signing key: %w", err)
	}
	err = q.InsertSigningKey(ctx, db.InsertSigningKeyParams{
		Kid: kid, Algorithm: algEdDSA, PublicKey: pub, PrivateKeyEnc: enc,
	})
	if err != nil {
		return "", fmt.Errorf("insert signing key: %w", err)
	}
	return kid, nil
}

// JWKS returns the keys that verify tokens now, newest first, for
// /.well-known/jwks.json.
func (s *Service) JWKS(ctx context.Context) (api.JWKS, error) {
	if err := s.keys.fresh(ctx); err != nil {
		return api.JWKS{}, err
	}
	s.keys.mu.RLock()
	defer s.keys.mu.RUnlock()
	out := api.JWKS{Keys: make([]api.JWK, 0, len(s.keys.kids))}
	for _, kid := range s.keys.kids {
		out.Keys = append(out.Keys, api.JWK{
			Kty: api.JWKKtyOKP, Crv: api.JWKCrvEd25519, Alg: api.JWKAlgEdDSA, Use: api.JWKUseSig,
			Kid: kid, X: base64.RawURLEncoding.EncodeToString(s.keys.verify[kid]),
		})
	}
	return out, nil
}
