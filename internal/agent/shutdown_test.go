package agent_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jackc/pgx/v5"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/audit"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
)

// TestShutdownDrainsSessionsAndOutboxBeforeClosingThePool stops a busy
// server (an open terminal session, money requests in flight) as SIGTERM
// would. The terminal session is ended and its terminal.session_end row is
// written, every request that got an answer has its audit row, and every
// outbox row is published, all before the pool closes.
func TestShutdownDrainsSessionsAndOutboxBeforeClosingThePool(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, func(c *config.Server) {
		c.Runtime = "agent"
		c.HeartbeatInterval = 100 * time.Millisecond
	})
	h200Fleet(t, env)
	c, _, a := activeAllocation(t, env)
	tok, err := c.MintTerminalToken(ctx, a.Id)
	if err != nil {
		t.Fatal(err)
	}
	ws, _, err := websocket.Dial(ctx, terminalURL(env, a.Id.String()), &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + tok.Token}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	readTerminal(t, ws, "session_ready")

	// Work in hand: credits (each an audit row and an outbox event) still
	// arriving while the server stops.
	admin, _ := env.As("admin")
	target := env.NewUser("user")
	var wg sync.WaitGroup
	var mu sync.Mutex
	answered := 0
	for i := range 20 {
		wg.Go(func() {
			rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			_, err := admin.AdminAdjustBalance(rctx, target.Id,
				api.AdjustBalanceRequest{AmountMinor: 100, Reason: "shutdown test"}, fmt.Sprintf("shutdown-%d", i))
			if err == nil {
				mu.Lock()
				answered++
				mu.Unlock()
			}
		})
	}
	time.Sleep(20 * time.Millisecond) // some are in flight, some done
	stopped := make(chan struct{})
	go func() { env.Stop(); close(stopped) }()

	// The client is told why its session ended.
	if m, _ := readTerminal(t, ws, "session_error"); m["code"] != "shutting_down" {
		t.Fatalf("session ended with %v, want shutting_down", m)
	}
	go func() { // answer the server's close frame
		for {
			if _, _, err := ws.Read(ctx); err != nil {
				return
			}
		}
	}()
	wg.Wait()
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("server did not stop")
	}

	// The server is gone: read what it left with a connection of our own.
	conn, err := pgx.Connect(ctx, env.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := conn.QueryRow(ctx, q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(`SELECT count(*) FROM audit_logs WHERE action = $1 AND target_id = $2`,
		audit.ActionTerminalSessionEnd, a.Id.String()); n != 1 {
		t.Errorf("%d terminal.session_end rows, want 1", n)
	}
	if n := count(`SELECT count(*) FROM audit_logs WHERE action = $1 AND target_id = $2`,
		audit.ActionBillingAdjustment, target.Id.String()); n < answered {
		t.Errorf("%d adjustments audited, but %d were answered", n, answered)
	}
	if n := count(`SELECT count(*) FROM outbox WHERE published_at IS NULL`); n != 0 {
		t.Errorf("%d outbox rows left unpublished at shutdown", n)
	}
}
