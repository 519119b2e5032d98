// Package kv owns short-lived, hot state that replicas must share: token
// buckets, windowed counters and expiring flags (the token deny-list) and
// single-use terminal tokens. Redis backs it in production; Memory backs a
// single-replica `gpuaas dev`. Callers decide what an error means: rate
// limits and the deny-list fail open (and count it), money never lives here.
package kv

import (
	"context"
	"time"
)

// Store is the shared hot state. Keys are namespaced by the caller.
type Store interface {
	// Take removes one token from the bucket key (capacity burst, refilled at
	// rate per second). When none is left it reports how long until one is.
	Take(ctx context.Context, key string, rate float64, burst int) (ok bool, retryAfter time.Duration, err error)
	// TakeUnlessFlagged is HasFlag(flags...) and, when none is set, Take,
	// in one atomic step and one round trip: a flagged caller (a revoked
	// token) spends no token.
	TakeUnlessFlagged(ctx context.Context, key string, rate float64, burst int, flags ...string) (flagged, ok bool, retryAfter time.Duration, err error)
	// Incr adds one to the counter key, which lives for window from its first
	// increment, and returns the new count and the time left in the window.
	Incr(ctx context.Context, key string, window time.Duration) (count int64, ttl time.Duration, err error)
	// Count returns the counter's value and time left (0, 0 when absent).
	Count(ctx context.Context, key string) (count int64, ttl time.Duration, err error)
	// Delete removes key.
	Delete(ctx context.Context, key string) error
	// SetFlag sets key for ttl.
	SetFlag(ctx context.Context, key string, ttl time.Duration) error
	// HasFlag reports whether any of keys is set and unexpired (one round
	// trip for all of them).
	HasFlag(ctx context.Context, keys ...string) (bool, error)
	// SetValue stores value under key for ttl (a ttl <= 0 stores nothing).
	SetValue(ctx context.Context, key, value string, ttl time.Duration) error
	// GetDel returns key's value and deletes it in one atomic step: of many
	// concurrent callers for one key, exactly one sees ok. An expired or
	// absent key is ("", false, nil).
	GetDel(ctx context.Context, key string) (value string, ok bool, err error)
	// Ping checks the backend answers.
	Ping(ctx context.Context) error
}
