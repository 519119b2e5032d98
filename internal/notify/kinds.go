package notify

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

func dbOptOut(user uuid.UUID, kind string) db.InsertEmailOptOutParams {
	return db.InsertEmailOptOutParams{UserID: user, Kind: kind}
}

// Kinds is every notification kind the relay stores and sends on
// /ws/notifications (a kind is the event type it tells of). The contract
// test holds it against the NotificationKind enum in api/asyncapi.yaml.
var Kinds = []string{
	events.AllocationActive, events.AllocationFailed, events.AllocationReleased, events.AllocationReleaseFailed,
	events.NodeOffline, events.NodeDraining, events.GPUUnhealthy,
	events.BillingLowBalance, events.BillingAutoReleasePending, events.BillingBalanceDepleted, events.BillingBalanceCredited,
	events.PaymentSucceeded, events.PaymentFailed, events.PaymentRefunded,
}

// MailKinds are the kinds that matter enough to be mailed too (when
// --smtp-url is set), each with how the preferences page names it. A user
// may opt out of each.
var MailKinds = []struct{ Kind, Label string }{
	{events.BillingLowBalance, "Low balance"},
	{events.BillingAutoReleasePending, "Allocations about to be released for low balance"},
	{events.BillingBalanceDepleted, "Allocations released because the balance reached zero"},
	{events.PaymentSucceeded, "Payment succeeded"},
	{events.PaymentFailed, "Payment failed"},
	{events.PaymentRefunded, "Refund issued"},
	{events.AllocationFailed, "Allocation failed"},
	{events.AllocationReleaseFailed, "Release failed"},
}

// Mailed says whether kind is one of MailKinds.
func Mailed(kind string) bool {
	return slices.ContainsFunc(MailKinds, func(k struct{ Kind, Label string }) bool { return k.Kind == kind })
}

// EnqueuePayment is how the payments code tells a user about a payment:
// call it with its own transaction tx, the one that books the credit or
// refund, and kind events.PaymentSucceeded, events.PaymentFailed or
// events.PaymentRefunded. The event commits with the change; the relay
// then stores the notification, sends it on /ws/notifications and queues
// its email (unless the user opted out).
func EnqueuePayment(ctx context.Context, tx *store.Store, n events.Naming, kind string, p events.Payment) (uuid.UUID, error) {
	switch kind {
	case events.PaymentSucceeded, events.PaymentFailed, events.PaymentRefunded:
	default:
		return uuid.Nil, fmt.Errorf("notify: %q is not a payment kind", kind)
	}
	if p.UserID == uuid.Nil {
		return uuid.Nil, fmt.Errorf("notify: %s without a user", kind)
	}
	return events.Enqueue(ctx, tx, n, kind, p)
}

// Preferences reads and sets which kinds a user is mailed.
type Preferences struct {
	st          *store.Store
	mailEnabled bool
}

// NewPreferences returns Preferences over st; mailEnabled says whether
// this server sends email at all.
func NewPreferences(st *store.Store, mailEnabled bool) *Preferences {
	return &Preferences{st: st, mailEnabled: mailEnabled}
}

// Get is user's preferences.
func (p *Preferences) Get(ctx context.Context, user uuid.UUID) (api.NotificationPreferences, error) {
	return p.get(ctx, p.st, user)
}

func (p *Preferences) get(ctx context.Context, st *store.Store, user uuid.UUID) (api.NotificationPreferences, error) {
	out, err := st.ListEmailOptOuts(ctx, user)
	if err != nil {
		return api.NotificationPreferences{}, fmt.Errorf("read notification preferences: %w", err)
	}
	res := api.NotificationPreferences{MailEnabled: p.mailEnabled, Kinds: make([]api.NotificationPreference, len(MailKinds))}
	for i, k := range MailKinds {
		res.Kinds[i] = api.NotificationPreference{Kind: k.Kind, Label: k.Label, Email: !slices.Contains(out, k.Kind)}
	}
	return res, nil
}

// Set replaces the kinds user is not mailed.
func (p *Preferences) Set(ctx context.Context, user uuid.UUID, optOut []string) (api.NotificationPreferences, error) {
	for _, k := range optOut {
		if !Mailed(k) {
			return api.NotificationPreferences{}, apperr.Invalid("email_opt_out: %q is not a kind that is mailed", k)
		}
	}
	var out api.NotificationPreferences
	err := p.st.InTx(ctx, func(tx *store.Store) error {
		if err := tx.DeleteEmailOptOuts(ctx, user); err != nil {
			return fmt.Errorf("set notification preferences: %w", err)
		}
		for _, k := range optOut {
			if err := tx.InsertEmailOptOut(ctx, dbOptOut(user, k)); err != nil {
				return fmt.Errorf("set notification preferences: %w", err)
			}
		}
		var err error
		out, err = p.get(ctx, tx, user)
		return err
	})
	return out, err
}
