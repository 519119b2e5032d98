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
	"github.com/gpuaas/gpuaas/internal/store/db"
)

type holders []db.ListNodeHoldingAllocationsRow

func (h holders) ListNodeHoldingAllocations(context.Context, uuid.NullUUID) ([]db.ListNodeHoldingAllocationsRow, error) {
	return h, nil
}

func connect(t *testing.T) (*nats.Conn, events.Naming) {
	nc, err := nats.Connect("nats://127.0.0.1:4222")
	if err != nil {
		t.Fatalf("NATS: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc, events.Naming{Namespace: "t" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]}
}

func TestRelayFansOut(t *testing.T) {
	nc, n := connect(t)
	u1, u2, node, a1, a2 := uuid.New(), uuid.New(), uuid.New(), uuid.New(), uuid.New()
	r := notify.NewRelay(nc, holders{{ID: a1, UserID: u1, Status: "active"}, {ID: a2, UserID: u2, Status: "provisioning"}}, n)
	s1, _ := nc.SubscribeSync(notify.Subject(n, u1))
	s2, _ := nc.SubscribeSync(notify.Subject(n, u2))
	_ = nc.Flush()
	data, _ := json.Marshal(events.Node{NodeID: node, Hostname: "h", Reason: "heartbeat"})
	ev := uuid.New()
	if err := r.HandleEvent(context.Background(), events.Envelope{ID: ev, Type: events.NodeOffline, Data: data}); err != nil {
		t.Fatal(err)
	}
	bal, _ := json.Marshal(events.Balance{UserID: u1, BalanceMinor: 42, Currency: "USD"})
	if err := r.HandleEvent(context.Background(), events.Envelope{ID: ev, Type: events.BillingLowBalance, Data: bal}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		sub  *nats.Subscription
		want string
	}{
		{s1, `{"type":"node.offline","id":"` + ev.String() + `","allocation_id":"` + a1.String() + `","node_id":"` + node.String() + `","status":"active"}`},
		{s2, `{"type":"node.offline","id":"` + ev.String() + `","allocation_id":"` + a2.String() + `","node_id":"` + node.String() + `","status":"provisioning"}`},
		{s1, `{"type":"billing.low_balance","id":"` + ev.String() + `","balance_minor":42,"currency":"USD"}`},
	} {
		m, err := c.sub.NextMsg(5 * time.Second)
		if err != nil || string(m.Data) != c.want {
			t.Fatalf("got %v %v, want %s", m, err, c.want)
		}
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
	big := []byte(`"` + strings.Repeat("x", 64<<10) + `"`)
	for i := 0; i < 2000 && dropped(t, reg) == 0; i++ {
		if err := nc.Publish(notify.Subject(n, user), big); err != nil {
			t.Fatal(err)
		}
		if i%50 == 0 {
			_ = nc.Flush()
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
