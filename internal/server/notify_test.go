package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/notify"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
)

// dialNotify opens /ws/notifications on env with token, the browser way
// (subprotocol) when browser is set, else with an Authorization header.
func dialNotify(t *testing.T, env *servertest.Env, token string, browser bool) *websocket.Conn {
	t.Helper()
	opts := &websocket.DialOptions{}
	if browser {
		opts.Subprotocols = []string{"bearer", token}
	} else {
		opts.HTTPHeader = http.Header{"Authorization": {"Bearer " + token}}
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(dctx, "ws"+strings.TrimPrefix(env.URL, "http")+"/ws/notifications", opts)
	if err != nil {
		t.Fatalf("dial notifications: %v (%v)", err, resp)
	}
	if browser && c.Subprotocol() != "bearer" {
		t.Fatalf("subprotocol %q, want bearer", c.Subprotocol())
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// readUntil reads notifications until one is for alloc with status want,
// failing on any message about another allocation, and returns those read.
func readUntil(t *testing.T, c *websocket.Conn, alloc uuid.UUID, want string) []notify.Message {
	t.Helper()
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var got []notify.Message
	for {
		typ, raw, err := c.Read(rctx)
		if err != nil {
			t.Fatalf("read notification (waiting for %s %s, got %+v): %v", alloc, want, got, err)
		}
		if typ != websocket.MessageText {
			t.Fatalf("frame type %v, want text", typ)
		}
		var m notify.Message
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("decode %s: %v", raw, err)
		}
		if m.ID == uuid.Nil || m.Type == "" {
			t.Fatalf("message without type or id: %s", raw)
		}
		if m.AllocationID == nil || *m.AllocationID != alloc {
			t.Fatalf("message about another allocation: %s", raw)
		}
		got = append(got, m)
		if m.Type == notify.TypeAllocationStatus && m.Status == want {
			return got
		}
	}
}

func createAlloc(t *testing.T, env *servertest.Env, token string) uuid.UUID {
	t.Helper()
	a, err := env.Client(token).CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1"}, uuid.NewString())
	if err != nil {
		t.Fatal(err)
	}
	return a.Id
}

func TestNotificationsOwnAllocations(t *testing.T) {
	env := servertest.Start(t)
	seedInventory(t, env)
	env.Fund(t, 100_000)
	_, pair := env.Login(env.NewUser("user"))
	_, other := env.Login(env.NewUser("user"))

	ws := dialNotify(t, env, pair.AccessToken, true)
	hdr := dialNotify(t, env, pair.AccessToken, false)

	theirs := createAlloc(t, env, other.AccessToken)
	mine := createAlloc(t, env, pair.AccessToken)
	readUntil(t, ws, mine, "active")
	readUntil(t, hdr, mine, "active")
	waitStatus(t, env.Client(other.AccessToken), theirs, api.AllocationStatusActive)
	if _, err := env.Client(pair.AccessToken).ReleaseAllocation(ctx, mine); err != nil {
		t.Fatal(err)
	}
	readUntil(t, ws, mine, "released")
	readUntil(t, hdr, mine, "released")
}

func TestNotificationsRefuseBadTokens(t *testing.T) {
	env := servertest.Start(t)
	c, pair := env.Login(env.NewUser("user"))
	if err := c.Logout(ctx, pair.RefreshToken); err != nil {
		t.Fatal(err)
	}
	anon := env.Client("")
	for name, hdr := range map[string]http.Header{
		"none":              {},
		"garbage":           {"Authorization": {"Bearer nope"}},
		"revoked":           {"Authorization": {"Bearer " + pair.AccessToken}},
		"revoked, protocol": {"Sec-WebSocket-Protocol": {"bearer, " + pair.AccessToken}},
	} {
		hdr.Set("Connection", "Upgrade")
		hdr.Set("Upgrade", "websocket")
		hdr.Set("Sec-WebSocket-Version", "13")
		hdr.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		status, body, _ := raw(t, anon, "GET", "/ws/notifications", "", hdr)
		if status != 401 || body["code"] == nil {
			t.Errorf("%s: %d %v, want 401 envelope", name, status, body)
		}
	}
}

// TestNotificationsAcrossReplicas: a client on replica A hears of an
// allocation made on replica B.
func TestNotificationsAcrossReplicas(t *testing.T) {
	a := servertest.Start(t)
	seedInventory(t, a)
	a.Fund(t, 100_000)
	b := servertest.StartReplica(t, a)
	_, pair := a.Login(a.NewUser("user"))

	ws := dialNotify(t, a, pair.AccessToken, true)
	id := createAlloc(t, b, pair.AccessToken)
	readUntil(t, ws, id, "active")
}
