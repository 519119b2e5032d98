package kv

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a Store shared by every replica.
type Redis struct {
	c      redis.UniversalClient
	prefix string
}

// NewRedis wraps a client; every key is prefixed with prefix.
func NewRedis(c redis.UniversalClient, prefix string) *Redis {
	return &Redis{c: c, prefix: prefix}
}

// OpenRedis parses a redis:// URL and checks it answers.
func OpenRedis(ctx context.Context, rawURL, prefix string) (*Redis, *redis.Client, error) {
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("parse redis url: %w", err)
	}
	// An outage must cost each request little: callers fail open, so a
	// long dial-retry loop would only add latency to every request.
	opt.DialTimeout = 500 * time.Millisecond
	opt.DialerRetries = 1
	opt.DialerRetryTimeout = 50 * time.Millisecond
	opt.MaxRetries = 1
	opt.ReadTimeout = 500 * time.Millisecond
	opt.WriteTimeout = 500 * time.Millisecond
	c := redis.NewClient(opt)
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("connect to redis: %w", err)
	}
	return NewRedis(c, prefix), c, nil
}

// takeScript is a token bucket kept as a hash {tokens, ts_ms} at KEYS[1];
// it returns {allowed, wait_ms}, or {-1, 0} without touching the bucket
// when any of KEYS[2..] (flags) exists. The server's clock is used so
// replicas agree.
var takeScript = redis.NewScript(`
if #KEYS > 1 and redis.call('EXISTS', unpack(KEYS, 2)) > 0 then return {-1, 0} end
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil then tokens = burst; ts = now end
tokens = math.min(burst, tokens + (now - ts) / 1000 * rate)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, wait}
`)

func (r *Redis) Take(ctx context.Context, key string, rate float64, burst int) (bool, time.Duration, error) {
	_, ok, wait, err := r.TakeUnlessFlagged(ctx, key, rate, burst)
	return ok, wait, err
}

func (r *Redis) TakeUnlessFlagged(ctx context.Context, key string, rate float64, burst int, flags ...string) (bool, bool, time.Duration, error) {
	keys := make([]string, 0, 1+len(flags))
	keys = append(keys, r.prefix+key)
	for _, f := range flags {
		keys = append(keys, r.prefix+f)
	}
	res, err := takeScript.Run(ctx, r.c, keys, rate, burst).Int64Slice()
	if err != nil {
		return false, false, 0, fmt.Errorf("redis take: %w", err)
	}
	return res[0] == -1, res[0] == 1, time.Duration(res[1]) * time.Millisecond, nil
}

// incrScript increments and sets the window on first use, atomically.
var incrScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}
`)

func (r *Redis) Incr(ctx context.Context, key string, window time.Duration) (int64, time.Duration, error) {
	res, err := incrScript.Run(ctx, r.c, []string{r.prefix + key}, window.Milliseconds()).Int64Slice()
	if err != nil {
		return 0, 0, fmt.Errorf("redis incr: %w", err)
	}
	return res[0], time.Duration(max(res[1], 0)) * time.Millisecond, nil
}

func (r *Redis) Count(ctx context.Context, key string) (int64, time.Duration, error) {
	k := r.prefix + key
	pipe := r.c.Pipeline()
	get := pipe.Get(ctx, k)
	ttl := pipe.PTTL(ctx, k)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return 0, 0, fmt.Errorf("redis count: %w", err)
	}
	n, err := get.Int64()
	if errors.Is(err, redis.Nil) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("redis count: %w", err)
	}
	return n, time.Duration(math.Max(0, float64(ttl.Val()))), nil
}

func (r *Redis) Delete(ctx context.Context, key string) error {
	if err := r.c.Del(ctx, r.prefix+key).Err(); err != nil {
		return fmt.Errorf("redis delete: %w", err)
	}
	return nil
}

func (r *Redis) SetFlag(ctx context.Context, key string, ttl time.Duration) error {
	if ttl <= 0 {
		return nil
	}
	if err := r.c.Set(ctx, r.prefix+key, 1, ttl).Err(); err != nil {
		return fmt.Errorf("redis set: %w", err)
	}
	return nil
}

func (r *Redis) HasFlag(ctx context.Context, keys ...string) (bool, error) {
	if len(keys) == 0 {
		return false, nil
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = r.prefix + k
	}
	n, err := r.c.Exists(ctx, full...).Result()
	if err != nil {
		return false, fmt.Errorf("redis exists: %w", err)
	}
	return n > 0, nil
}

func (r *Redis) SetValue(ctx context.Context, key, value string, ttl time.Duration) error {
	if ttl <= 0 {
		return nil
	}
	if err := r.c.Set(ctx, r.prefix+key, value, ttl).Err(); err != nil {
		return fmt.Errorf("redis set: %w", err)
	}
	return nil
}

// GetDel uses Redis GETDEL (6.2+), which is atomic on the server.
func (r *Redis) GetDel(ctx context.Context, key string) (string, bool, error) {
	v, err := r.c.GetDel(ctx, r.prefix+key).Result()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("redis getdel: %w", err)
	}
	return v, true, nil
}

func (r *Redis) Ping(ctx context.Context) error { return r.c.Ping(ctx).Err() }
