package notify_test

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gopkg.in/yaml.v3"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/notify"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/dbtest"
)

// api/asyncapi.yaml's NotificationMessage lists every kind the relay
// stores and every field of notify.Message: neither changes alone.
func TestAsyncAPINotificationMessage(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Enum []string `yaml:"enum"`
				} `yaml:"properties"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(api.AsyncAPI, &doc); err != nil {
		t.Fatal(err)
	}
	s, ok := doc.Components.Schemas["NotificationMessage"]
	if !ok {
		t.Fatal("asyncapi.yaml has no NotificationMessage schema")
	}
	enum, kinds := slices.Clone(s.Properties["kind"].Enum), slices.Clone(notify.Kinds)
	slices.Sort(enum)
	slices.Sort(kinds)
	if !slices.Equal(enum, kinds) {
		t.Fatalf("asyncapi kinds\n  %v\nnotify.Kinds\n  %v", enum, kinds)
	}
	var fields []string
	rt := reflect.TypeFor[notify.Message]()
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		fields = append(fields, name)
	}
	var props []string
	for p := range s.Properties {
		props = append(props, p)
	}
	slices.Sort(fields)
	slices.Sort(props)
	if !slices.Equal(fields, props) {
		t.Fatalf("asyncapi NotificationMessage properties\n  %v\nnotify.Message fields\n  %v", props, fields)
	}
	for _, k := range notify.MailKinds {
		if !slices.Contains(notify.Kinds, k.Kind) {
			t.Errorf("mailed kind %s is not a notification kind", k.Kind)
		}
	}
	for _, k := range notify.EventTypes {
		if !slices.Contains(notify.Kinds, k) {
			t.Errorf("the relay handles %s but Kinds lacks it", k)
		}
	}
}

// Every kind that matters reaches the user: the payments code's events
// through EnqueuePayment, and billing's and the lifecycle's through the
// relay, each stored with words that say what happened.
func TestEveryMailedKindIsStored(t *testing.T) {
	nc, n := connect(t)
	st := dbtest.New(t)
	u1, _, _, a1, _ := fixture(t, st)
	r := notify.NewRelay(nc, st, n)
	sub, _ := nc.SubscribeSync(notify.Subject(n, u1))
	_ = nc.Flush()
	now := time.Now()
	runway, bal := int64(240), int64(6000)
	pay := events.Payment{UserID: u1, PaymentID: uuid.New(), AmountMinor: 5000, Currency: "USD", BalanceMinor: &bal, At: now}
	// EnqueuePayment writes the event in the caller's transaction.
	var payEvents []events.Envelope
	for _, kind := range []string{events.PaymentSucceeded, events.PaymentFailed, events.PaymentRefunded} {
		if err := st.InTx(context.Background(), func(tx *store.Store) error {
			id, err := notify.EnqueuePayment(context.Background(), tx, n, kind, pay)
			if err != nil {
				return err
			}
			raw, _ := json.Marshal(pay)
			payEvents = append(payEvents, events.Envelope{ID: id, Type: kind, Data: raw})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.InTx(context.Background(), func(tx *store.Store) error {
		_, err := notify.EnqueuePayment(context.Background(), tx, n, events.NodeOffline, pay)
		return err
	}); err == nil {
		t.Fatal("EnqueuePayment took a kind that is not a payment's")
	}
	var outbox int
	if err := st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM outbox WHERE type LIKE 'payment.%'`).Scan(&outbox); err != nil || outbox != 3 {
		t.Fatalf("%d payment events in the outbox (%v), want 3", outbox, err)
	}
	balance, _ := json.Marshal(events.Balance{UserID: u1, BalanceMinor: 40, Currency: "USD", RunwaySeconds: &runway, At: now})
	alloc, _ := json.Marshal(events.Allocation{AllocationID: a1, UserID: u1, Status: "release_failed", From: "releasing", At: now})
	all := append(payEvents,
		events.Envelope{ID: uuid.New(), Type: events.BillingAutoReleasePending, Data: balance},
		events.Envelope{ID: uuid.New(), Type: events.BillingBalanceDepleted, Data: balance},
		events.Envelope{ID: uuid.New(), Type: events.AllocationReleaseFailed, Data: alloc},
	)
	want := map[string]string{
		events.PaymentSucceeded:          "USD 50.00",
		events.PaymentFailed:             "did not go through",
		events.PaymentRefunded:           "refund of USD 50.00",
		events.BillingAutoReleasePending: "4 min",
		events.BillingBalanceDepleted:    "reached zero",
		events.AllocationReleaseFailed:   `"train-7b"`,
	}
	for _, env := range all {
		if err := r.HandleEvent(context.Background(), env); err != nil {
			t.Fatal(err)
		}
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var got notify.Message
		if err := json.Unmarshal(m.Data, &got); err != nil {
			t.Fatal(err)
		}
		if got.Kind != env.Type || !strings.Contains(strings.ToLower(got.Body), strings.ToLower(want[env.Type])) {
			t.Fatalf("%s: got %s, want a body with %q", env.Type, m.Data, want[env.Type])
		}
		if strings.HasPrefix(env.Type, "payment.") && (got.AmountMinor == nil || *got.AmountMinor != 5000 || got.PaymentID == nil) {
			t.Fatalf("%s: %s lacks the amount or payment id", env.Type, m.Data)
		}
	}
}
