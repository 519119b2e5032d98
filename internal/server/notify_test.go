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
	"github.com/gpuaas/gpuaas/sdk"
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
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
	a := servertest.Start(t)
	seedInventory(t, a)
	a.Fund(t, 100_000)
	b := servertest.StartReplica(t, a)
	_, pair := a.Login(a.NewUser("user"))

	ws := dialNotify(t, a, pair.AccessToken, true)
	id := createAlloc(t, b, pair.AccessToken)
	readUntil(t, ws, id, "active")
}

// waitNotification polls the caller's history until a notification of
// kind about alloc is there.
func waitNotification(t *testing.T, c *sdk.Client, alloc uuid.UUID, kind string) api.Notification {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		l, err := c.ListNotifications(ctx, api.ListNotificationsParams{})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range l.Items {
			if n.Kind == kind && n.AllocationId != nil && *n.AllocationId == alloc {
				return n
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s notification about %s in %+v", kind, alloc, l.Items)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Notification history is kept per user: each sees their own, by the
// allocation's name, never another user's, and marking read is theirs
// alone.
func TestNotificationHistoryIsPerUser(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	seedInventory(t, env)
	env.Fund(t, 100_000)
	me, _ := env.As("user")
	other, _ := env.As("user")
	mine, err := me.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1", Name: ptr("train-7b")}, uuid.NewString())
	if err != nil {
		t.Fatal(err)
	}
	theirs := createAllocWith(t, other)
	ready := waitNotification(t, me, mine.Id, "allocation.active")
	if !strings.Contains(ready.Title, `"train-7b"`) || ready.ReadAt != nil {
		t.Fatalf("active notification %+v does not name the allocation or is read", ready)
	}
	waitNotification(t, other, theirs, "allocation.active")
	if _, err := me.ReleaseAllocation(ctx, mine.Id); err != nil {
		t.Fatal(err)
	}
	gone := waitNotification(t, me, mine.Id, "allocation.released")
	if !strings.Contains(gone.Body, "as you asked") {
		t.Fatalf("released notification %+v does not say why", gone)
	}

	l, err := me.ListNotifications(ctx, api.ListNotificationsParams{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range l.Items {
		if n.AllocationId != nil && *n.AllocationId == theirs {
			t.Fatalf("another user's notification listed: %+v", n)
		}
	}
	if l.UnreadCount != int64(len(l.Items)) || l.UnreadCount < 2 {
		t.Fatalf("unread count %d of %d items", l.UnreadCount, len(l.Items))
	}
	// Another user's ids mark nothing; mine do.
	theirList, err := other.ListNotifications(ctx, api.ListNotificationsParams{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := me.MarkNotificationsRead(ctx, []uuid.UUID{theirList.Items[0].Id}, false)
	if err != nil || res.Marked != 0 {
		t.Fatalf("marking another user's notification: %+v %v", res, err)
	}
	res, err = me.MarkNotificationsRead(ctx, []uuid.UUID{ready.Id}, false)
	if err != nil || res.Marked != 1 || res.UnreadCount != l.UnreadCount-1 {
		t.Fatalf("mark one: %+v %v", res, err)
	}
	page, err := me.ListNotifications(ctx, api.ListNotificationsParams{PageSize: ptr(1), Unread: ptr(true)})
	if err != nil || len(page.Items) != 1 || page.Items[0].Id == ready.Id || page.Items[0].ReadAt != nil || page.UnreadCount != res.UnreadCount {
		t.Fatalf("unread page: %+v %v", page, err)
	}
	if res, err = me.MarkNotificationsRead(ctx, nil, true); err != nil || res.UnreadCount != 0 {
		t.Fatalf("mark all: %+v %v", res, err)
	}
	if after, _ := other.ListNotifications(ctx, api.ListNotificationsParams{Unread: ptr(true)}); after.UnreadCount == 0 {
		t.Fatal("marking all read touched another user's notifications")
	}
	status, body, _ := raw(t, me, "POST", "/api/v1/notifications/read", `{}`, nil)
	if status != 400 || body["code"] != "invalid_request" {
		t.Fatalf("empty mark: %d %v", status, body)
	}
	status, body, _ = raw(t, me, "GET", "/api/v1/notifications?unread=maybe", "", nil)
	if status != 400 || body["code"] != "invalid_request" {
		t.Fatalf("bad unread: %d %v", status, body)
	}
}

func createAllocWith(t *testing.T, c *sdk.Client) uuid.UUID {
	t.Helper()
	a, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h100-x1"}, uuid.NewString())
	if err != nil {
		t.Fatal(err)
	}
	return a.Id
}
