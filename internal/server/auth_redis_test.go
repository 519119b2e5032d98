package server_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
)

// tripCounter counts the round trips to Redis that mention a string (a
// user's id; "" counts them all): one per command, one per pipeline.
type tripCounter struct {
	mention string
	n       atomic.Int64
}

func (c *tripCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *tripCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if strings.Contains(cmd.String(), c.mention) {
			c.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (c *tripCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			if strings.Contains(cmd.String(), c.mention) {
				c.n.Add(1)
				break
			}
		}
		return next(ctx, cmds)
	}
}

// An API request signed in with an access token checks the deny-list and
// spends its rate-limit token in one round trip to Redis, and the limit
// still holds (revocation across replicas: session_revoke_test.go).
func TestAPIRequestIsOneRedisRoundTrip(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, func(c *config.Server) {
		c.RedisURL = "redis://127.0.0.1:6379/0"
		c.APIRate, c.APIBurst = 0.5, 4
	})
	c, u := env.As("user")
	trips := &tripCounter{mention: u.Id.String()}
	env.App.Redis.AddHook(trips)
	if _, err := c.Me(ctx); err != nil { // loads the script on a first use
		t.Fatal(err)
	}
	trips.n.Store(0)
	for i := 0; i < 3; i++ {
		if _, err := c.Me(ctx); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if n := trips.n.Load(); n != 3 {
		t.Fatalf("3 requests made %d round trips to Redis, want 3", n)
	}
	_, err := c.Me(ctx)
	if e := wantErr(t, err, 429, "rate_limited"); e.RetryAfter < time.Second {
		t.Fatalf("Retry-After %v", e.RetryAfter)
	}
}
