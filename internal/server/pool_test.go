package server_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/ledger"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
)

// TestIdempotentMoneyRequestsNeverExhaustThePool runs ten times the pool's
// size of concurrent balance adjustments, some with their own key and some
// sharing one, on a pool of 4. A request that held two connections at once
// (the idempotency transaction and another for the change) deadlocked the
// pool at about five; now each request uses one, so all finish, money moves
// once per key, and health and ordinary reads keep answering meanwhile.
func TestIdempotentMoneyRequestsNeverExhaustThePool(t *testing.T) {
	t.Parallel()
	const pool = 4
	env := servertest.Start(t, func(c *config.Server) {
		c.DatabaseMaxConns = pool
		c.APIBurst = 1000 // the point is the pool, not the rate limit
	})
	admin, _ := env.As("admin")
	target := env.NewUser("user")

	const (
		distinct = 5 * pool // one request each
		repeated = 5 * pool // shared by groups of 4
		group    = 4
		amount   = 100
	)
	deadline, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	// Health and an ordinary read, probed while the adjustments run.
	stopProbe := make(chan struct{})
	probeErr := make(chan error, 1)
	go func() {
		defer close(probeErr)
		for {
			select {
			case <-stopProbe:
				return
			default:
			}
			pctx, pcancel := context.WithTimeout(deadline, 5*time.Second)
			_, err := admin.Healthz(pctx)
			if err == nil {
				_, err = admin.ListSKUs(pctx, api.ListSkusParams{})
			}
			pcancel()
			if err != nil {
				probeErr <- fmt.Errorf("probe during adjustments: %w", err)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()

	var wg sync.WaitGroup
	errs := make(chan error, distinct+repeated)
	for i := range distinct + repeated {
		key := fmt.Sprintf("distinct-%d", i)
		if i >= distinct {
			key = fmt.Sprintf("repeated-%d", (i-distinct)/group)
		}
		wg.Go(func() {
			_, err := admin.AdminAdjustBalance(deadline, target.Id,
				api.AdjustBalanceRequest{AmountMinor: amount, Reason: "pool test"}, key)
			if err != nil {
				errs <- fmt.Errorf("adjust with key %s: %w", key, err)
			}
		})
	}
	wg.Wait()
	close(stopProbe)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := <-probeErr; err != nil {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}

	bal, err := admin.AdminGetUserBalance(ctx, target.Id)
	if err != nil {
		t.Fatal(err)
	}
	want := int64(amount * (distinct + repeated/group))
	if bal.BalanceMinor != want {
		t.Fatalf("balance %d, want %d: money moved more or less than once per key", bal.BalanceMinor, want)
	}
	if err := ledger.Check(ctx, env.App.Store.Queries); err != nil {
		t.Fatal(err)
	}
	var audited int
	if err := env.App.Store.Pool().QueryRow(ctx,
		`SELECT count(*) FROM audit_logs WHERE action = 'billing.adjustment' AND target_id = $1`, target.Id.String()).Scan(&audited); err != nil {
		t.Fatal(err)
	}
	if audited != distinct+repeated/group {
		t.Fatalf("%d adjustments audited, want %d", audited, distinct+repeated/group)
	}
}
