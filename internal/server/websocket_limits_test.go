package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
)

// tryNotify dials /ws/notifications with token; it returns the socket, or
// the refusal's status and envelope code.
func tryNotify(t *testing.T, env *servertest.Env, token string) (*websocket.Conn, int, string) {
	t.Helper()
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(dctx, "ws"+strings.TrimPrefix(env.URL, "http")+"/ws/notifications",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err == nil {
		t.Cleanup(func() { c.CloseNow() })
		return c, http.StatusSwitchingProtocols, ""
	}
	if resp == nil {
		t.Fatalf("dial: %v", err)
	}
	var env2 struct{ Code, CorrelationID string }
	if resp.Body != nil {
		b, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(b, &env2)
	}
	return nil, resp.StatusCode, env2.Code
}

// One user cannot hold more than --websocket-max-per-user sockets, nor the
// server more than --websocket-max-total: both are refused before the
// upgrade with the envelope, and counted.
func TestWebsocketCaps(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, func(c *config.Server) {
		c.WebsocketMaxPerUser = 2
		c.WebsocketMaxTotal = 3
	})
	_, alice := env.As("user")
	_, bob := env.As("user")
	_, carol := env.As("user")
	_, ta := env.Login(alice)
	_, tb := env.Login(bob)
	_, tc := env.Login(carol)

	a1, _, _ := tryNotify(t, env, ta.AccessToken)
	a2, _, _ := tryNotify(t, env, ta.AccessToken)
	if a1 == nil || a2 == nil {
		t.Fatal("alice's first two sockets refused")
	}
	if c, status, code := tryNotify(t, env, ta.AccessToken); c != nil || status != 429 || code != "too_many_websockets" {
		t.Fatalf("alice's third socket: %v %d %s, want 429 too_many_websockets", c != nil, status, code)
	}
	if c, _, _ := tryNotify(t, env, tb.AccessToken); c == nil {
		t.Fatal("bob is refused because of alice")
	}
	if c, status, code := tryNotify(t, env, tc.AccessToken); c != nil || status != 503 || code != "too_many_connections" {
		t.Fatalf("past the server-wide cap: %v %d %s, want 503 too_many_connections", c != nil, status, code)
	}

	// A closed socket gives its place back.
	a1.Close(websocket.StatusNormalClosure, "bye")
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, status, _ := tryNotify(t, env, tc.AccessToken)
		if c != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a closed socket's place never came back (%d)", status)
		}
		time.Sleep(50 * time.Millisecond)
	}

	_, body := getMetrics(t, env.HTTPClient(), env.URL+"/metrics", "")
	for _, want := range []string{
		`gpuaas_websocket_connections{kind="notifications"} 3`,
		`gpuaas_websocket_refused_total{reason="per_user"} 1`,
		`gpuaas_websocket_refused_total{reason="total"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// The default server-wide cap sits below the open-file limit.
func TestWebsocketTotalDefaultsBelowTheFileLimit(t *testing.T) {
	t.Parallel()
	c := config.DefaultServer()
	c.SecretKeyFile = "/dev/null"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	limit, ok := config.OpenFileLimit()
	if !ok {
		t.Skip("no open-file limit on this platform")
	}
	if c.WebsocketMaxTotal < 1 || uint64(c.WebsocketMaxTotal) >= limit {
		t.Fatalf("websocket-max-total %d with an open-file limit of %d", c.WebsocketMaxTotal, limit)
	}
}

// Terminals count toward the same per-user cap as notification sockets,
// and are refused before the upgrade.
func TestTerminalCountsTowardTheSocketCap(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, func(c *config.Server) { c.WebsocketMaxPerUser = 1 })
	seedInventory(t, env)
	env.Fund(t, 100_000)
	c, u := env.As("user")
	_, pair := env.Login(u)
	a, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, a.Id, api.AllocationStatusActive)
	tok, err := c.MintTerminalToken(ctx, a.Id)
	if err != nil {
		t.Fatal(err)
	}
	if s, status, _ := tryNotify(t, env, pair.AccessToken); s == nil {
		t.Fatalf("first socket: %d", status)
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ws, resp, err := websocket.Dial(dctx, "ws"+strings.TrimPrefix(env.URL, "http")+"/ws/terminal/"+a.Id.String(),
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tok.Token}}})
	if err == nil {
		ws.CloseNow()
		t.Fatal("a terminal past the per-user cap was upgraded")
	}
	if resp == nil || resp.StatusCode != 429 {
		t.Fatalf("terminal past the cap: %v %v, want 429", resp, err)
	}
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), `"too_many_websockets"`) {
		t.Fatalf("terminal past the cap: %s", b)
	}
}
