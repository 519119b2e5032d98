package notify_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/notify"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/dbtest"
)

func connect(t *testing.T) (*nats.Conn, events.Naming) {
	nc, err := nats.Connect("nats://127.0.0.1:4222")
	if err != nil {
		t.Fatalf("NATS: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc, events.Naming{Namespace: "t" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]}
}

// fixture inserts two users, a node and one allocation of each user on it
// (a1 named, a2 not), and returns their ids.
func fixture(t *testing.T, st *store.Store) (u1, u2, node, a1, a2 uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	u1, u2, node, a1, a2 = uuid.New(), uuid.New(), uuid.New(), uuid.New(), uuid.New()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO regions (id, name) VALUES ('r1', 'R1')`, nil},
		{`INSERT INTO skus (id, name, gpu_model, gpu_count, gpu_memory_mib, vcpu, memory_mib, disk_gib, price_per_hour_minor, currency, region)
		  VALUES ('h100', 'H100 80GB', 'H100', 1, 81559, 8, 65536, 100, 250, 'USD', 'r1')`, nil},
		{`INSERT INTO nodes (id, hostname, region) VALUES ($1, 'gpu-1', 'r1')`, []any{node}},
		{`INSERT INTO users (id, username, email, role, password_hash) VALUES ($1, 'ada', 'ada@example.com', 'user', 'x'), ($2, 'bob', 'bob@example.com', 'user', 'x')`, []any{u1, u2}},
		{`INSERT INTO allocations (id, user_id, sku_id, node_id, name, status, gpu_count, price_per_hour_minor, currency)
		  VALUES ($1, $2, 'h100', $3, 'train-7b', 'active', 1, 250, 'USD'), ($4, $5, 'h100', $3, '', 'provisioning', 1, 250, 'USD')`, []any{a1, u1, node, a2, u2}},
	} {
		if _, err := st.Pool().Exec(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	return u1, u2, node, a1, a2
}

func TestRelayFansOutAndKeepsEachNotification(t *testing.T) {
	nc, n := connect(t)
	st := dbtest.New(t)
	u1, u2, node, a1, a2 := fixture(t, st)
	r := notify.NewRelay(nc, st, n)
	s1, _ := nc.SubscribeSync(notify.Subject(n, u1))
	s2, _ := nc.SubscribeSync(notify.Subject(n, u2))
	_ = nc.Flush()
	data, _ := json.Marshal(events.Node{NodeID: node, Hostname: "gpu-1", Reason: "heartbeat"})
	ev := uuid.New()
	// Delivered twice, as JetStream may: kept once.
	for range 2 {
		if err := r.HandleEvent(context.Background(), events.Envelope{ID: ev, Type: events.NodeOffline, Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	bal, _ := json.Marshal(events.Balance{UserID: u1, BalanceMinor: 42, Currency: "USD"})
	if err := r.HandleEvent(context.Background(), events.Envelope{ID: ev, Type: events.BillingLowBalance, Data: bal}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		sub                       *nats.Subscription
		typ, alloc, status, title string
	}{
		{s1, "node.offline", a1.String(), "active", `"train-7b": node offline`},
		{s1, "node.offline", a1.String(), "active", `"train-7b": node offline`},
		{s2, "node.offline", a2.String(), "provisioning", "H100 80GB " + a2.String()[:8] + ": node offline"},
		{s1, "billing.low_balance", "", "", "Low balance"},
	} {
		m, err := c.sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var got notify.Message
		if err := json.Unmarshal(m.Data, &got); err != nil {
			t.Fatal(err)
		}
		if got.Type != c.typ || got.ID != ev || got.Status != c.status || got.Title != c.title || got.NotificationID == nil {
			t.Fatalf("got %s, want type %s status %s title %q", m.Data, c.typ, c.status, c.title)
		}
		if c.alloc != "" && (got.AllocationID == nil || got.AllocationID.String() != c.alloc) {
			t.Fatalf("got %s, want allocation %s", m.Data, c.alloc)
		}
	}
	inbox := notify.NewInbox(st)
	list, _, err := inbox.List(context.Background(), u1, false, uuid.Nil, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 || list.UnreadCount != 2 {
		t.Fatalf("user 1 holds %+v, want the node.offline and the low balance once each", list)
	}
	if b := list.Items[0].Body; !strings.Contains(b, "USD 0.42") {
		t.Fatalf("low balance body %q does not say the balance", b)
	}
	if b := list.Items[1].Body; !strings.Contains(b, "gpu-1") || !strings.Contains(b, `"train-7b"`) {
		t.Fatalf("node offline body %q does not name the allocation and node", b)
	}
}

// A zero-balance force release says so, by the allocation's name.
func TestReleasedSaysWhy(t *testing.T) {
	nc, n := connect(t)
	st := dbtest.New(t)
	u1, _, _, a1, _ := fixture(t, st)
	if _, err := st.Pool().Exec(context.Background(), `UPDATE allocations SET status = 'released', release_reason = 'balance_depleted' WHERE id = $1`, a1); err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(events.Allocation{AllocationID: a1, UserID: u1, Status: "released", From: "releasing"})
	if err := notify.NewRelay(nc, st, n).HandleEvent(context.Background(), events.Envelope{ID: uuid.New(), Type: events.AllocationReleased, Data: data}); err != nil {
		t.Fatal(err)
	}
	list, _, err := notify.NewInbox(st).List(context.Background(), u1, true, uuid.Nil, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Fatalf("got %+v", list)
	}
	got := list.Items[0]
	if got.Kind != "allocation.released" || !strings.Contains(got.Title, `"train-7b"`) || !strings.Contains(got.Body, "balance reached zero") {
		t.Fatalf("got %+v", got)
	}
}

// A client that does not read is dropped once its buffer fills; the
// publisher never waits on it.
func TestSlowClientDropped(t *testing.T) {
	nc, n := connect(t)
	reg := prometheus.NewRegistry()
	hub := notify.NewHub(nc, n, reg)
	hub.Buffer = 4
	user := uuid.New()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = hub.Serve(w, r, user, time.Time{})
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	// Published on a connection of its own, and never more than NATS lets
	// one subscriber have pending (64 MB): on a busy machine the server
	// would otherwise cut the hub's connection as a slow consumer before
	// the hub's own queue filled, and the test would prove nothing.
	pub, err := nats.Connect("nats://127.0.0.1:4222")
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	big := []byte(`"` + strings.Repeat("x", 16<<10) + `"`)
	for i := 0; i < 3000 && dropped(t, reg) == 0; i++ {
		if err := pub.Publish(notify.Subject(n, user), big); err != nil {
			t.Fatal(err)
		}
		if i%50 == 0 {
			_ = pub.Flush()
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for dropped(t, reg) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("slow client was not dropped")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Draining now ends in a policy-violation close (or a cut connection).
	for {
		if _, _, err := c.Read(ctx); err != nil {
			if s := websocket.CloseStatus(err); s != -1 && s != websocket.StatusPolicyViolation {
				t.Fatalf("closed with %v", err)
			}
			break
		}
	}
}

func dropped(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "gpuaas_notify_dropped_clients_total" && len(mf.Metric) > 0 {
			return mf.Metric[0].GetCounter().GetValue()
		}
	}
	return 0
}

// Housekeeping drops read notifications past KeepRead and keeps unread
// ones however old.
func TestCleanupKeepsUnread(t *testing.T) {
	st := dbtest.New(t)
	u1, _, _, _, _ := fixture(t, st)
	old := time.Now().Add(-notify.KeepRead - time.Hour)
	for _, readAt := range []any{old, nil} {
		if _, err := st.Pool().Exec(context.Background(), `INSERT INTO notifications (id, user_id, event_id, kind, title, body, created_at, read_at)
			VALUES ($1, $2, $3, 'billing.low_balance', 'Low balance', 'b', $4, $5)`, uuid.Must(uuid.NewV7()), u1, uuid.New(), old, readAt); err != nil {
			t.Fatal(err)
		}
	}
	in := notify.NewInbox(st)
	if n, err := in.Cleanup(context.Background()); err != nil || n != 1 {
		t.Fatalf("cleanup: %d %v, want 1", n, err)
	}
	if l, _, err := in.List(context.Background(), u1, false, uuid.Nil, 10); err != nil || len(l.Items) != 1 || l.Items[0].ReadAt != nil {
		t.Fatalf("left %+v %v, want the unread one", l, err)
	}
}
