package terminal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/internal/kv"
	"github.com/gpuaas/gpuaas/internal/prom"
	"github.com/gpuaas/gpuaas/internal/secrets"
)

// Prefix starts every terminal token, so one is recognisable in logs and
// by secret scanners.
const Prefix = "gpt_"

// keyPrefix namespaces the hot-state keys.
const keyPrefix = "term:"

// Errors Consume returns. Callers answer every one of them with 401.
var (
	// ErrInvalid: the token is unknown, expired or already spent (including
	// a replay of one consumed before).
	ErrInvalid = errors.New("terminal token invalid, expired or already used")
	// ErrMismatch: the token was minted for another allocation. It is spent.
	ErrMismatch = errors.New("terminal token is for another allocation")
)

// Tokens mints and consumes terminal tokens.
type Tokens struct {
	hot     kv.Store
	ttl     time.Duration
	now     func() time.Time
	minted  prometheus.Counter
	consume *prometheus.CounterVec
}

// New returns Tokens kept in hot, living ttl. reg may be nil.
func New(hot kv.Store, ttl time.Duration, reg prometheus.Registerer) *Tokens {
	t := &Tokens{
		hot: hot,
		ttl: ttl,
		now: time.Now,
		minted: prom.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gpuaas_terminal_tokens_minted_total",
			Help: "Terminal tokens minted.",
		})),
		consume: prom.Register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gpuaas_terminal_token_consumes_total",
			Help: "Terminal token consume attempts by result: ok, replay (a token this replica saw consumed), mismatch (another allocation's token) or expired_or_unknown.",
		}, []string{"result"})),
	}
	for _, r := range []string{"ok", "replay", "mismatch", "expired_or_unknown"} {
		t.consume.WithLabelValues(r)
	}
	return t
}

// TTL is how long a minted token lives.
func (t *Tokens) TTL() time.Duration { return t.ttl }

type record struct {
	AllocationID uuid.UUID `json:"allocation_id"`
	UserID       uuid.UUID `json:"user_id"`
}

func key(token string) string {
	sum := sha256.Sum256([]byte(token))
	return keyPrefix + hex.EncodeToString(sum[:])
}

// spentKey marks a consumed token for its TTL so a replay can be counted
// apart from a token never seen; it holds no secret (a hash of the hash).
func spentKey(token string) string {
	sum := sha256.Sum256([]byte("spent:" + token))
	return keyPrefix + "spent:" + hex.EncodeToString(sum[:])
}

// Mint creates a token for userID on allocationID. The caller has checked
// that the user owns the allocation and that it is active.
func (t *Tokens) Mint(ctx context.Context, allocationID, userID uuid.UUID) (string, time.Time, error) {
	token := secrets.Token(Prefix)
	val, err := json.Marshal(record{AllocationID: allocationID, UserID: userID})
	if err != nil {
		return "", time.Time{}, err
	}
	expires := t.now().Add(t.ttl).UTC()
	if err := t.hot.SetValue(ctx, key(token), string(val), t.ttl); err != nil {
		return "", time.Time{}, fmt.Errorf("store terminal token: %w", err)
	}
	t.minted.Inc()
	return token, expires, nil
}

// Consume spends token for allocationID and returns the user it was minted
// for. It is atomic and single-use: of concurrent calls with one token,
// exactly one succeeds. A token for another allocation returns ErrMismatch
// and is spent all the same. A failing store returns its error (callers
// fail closed).
func (t *Tokens) Consume(ctx context.Context, token string, allocationID uuid.UUID) (uuid.UUID, error) {
	if !strings.HasPrefix(token, Prefix) || len(token) > 128 {
		t.consume.WithLabelValues("expired_or_unknown").Inc()
		return uuid.Nil, ErrInvalid
	}
	raw, ok, err := t.hot.GetDel(ctx, key(token))
	if err != nil {
		return uuid.Nil, fmt.Errorf("consume terminal token: %w", err)
	}
	if !ok {
		if spent, _ := t.hot.HasFlag(ctx, spentKey(token)); spent {
			t.consume.WithLabelValues("replay").Inc()
		} else {
			t.consume.WithLabelValues("expired_or_unknown").Inc()
		}
		return uuid.Nil, ErrInvalid
	}
	// Best effort: only sorts replays from unknown tokens in the metrics.
	_ = t.hot.SetFlag(ctx, spentKey(token), t.ttl)
	var rec record
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		t.consume.WithLabelValues("expired_or_unknown").Inc()
		return uuid.Nil, ErrInvalid
	}
	if rec.AllocationID != allocationID {
		t.consume.WithLabelValues("mismatch").Inc()
		return uuid.Nil, ErrMismatch
	}
	t.consume.WithLabelValues("ok").Inc()
	return rec.UserID, nil
}
