package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/money"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Release reasons as package allocation and billing write them; kept here
// as text so notify does not import the packages that emit its events.
const (
	releaseByUser          = "user"
	releaseBalance         = "balance_depleted"
	releaseByAdminPrefix   = "admin: "
	failureNodeLost        = "node_lost"
	failureProvisionPrefix = "provision: "
)

// allocationName is how a notification names an allocation: its name, or
// its SKU and short id when it has none.
func allocationName(a db.GetNotifyAllocationRow) string {
	if a.Name != "" {
		return fmt.Sprintf("%q", a.Name)
	}
	short := a.ID.String()[:8]
	if a.SkuName != "" {
		return a.SkuName + " " + short
	}
	return "allocation " + short
}

// allocationText is the title and body of an allocation status change:
// what happened and why.
func allocationText(typ string, a db.GetNotifyAllocationRow, reason string) (title, body string) {
	name := allocationName(a)
	switch typ {
	case events.AllocationActive:
		return name + " is ready",
			name + " is active: sign in over SSH or open a terminal. Billing runs until you release it."
	case events.AllocationReleaseFailed:
		return name + ": release not confirmed",
			name + " was asked to be released, but its node has not confirmed it yet. You are not charged past the release request; the release is retried and an operator is alerted."
	case events.AllocationFailed:
		if reason == "" {
			reason = a.FailureReason
		}
		return name + " failed", name + " " + failureText(reason)
	default: // released
		if a.ReleaseReason != "" {
			reason = a.ReleaseReason // the released event itself carries none
		}
		return name + " was released", name + " " + releaseText(reason)
	}
}

func failureText(reason string) string {
	switch {
	case reason == failureNodeLost:
		return "ended because its node stayed offline past the grace period. Billing was paused while the node was away."
	case strings.HasPrefix(reason, failureProvisionPrefix):
		return "could not be started on its node (" + strings.TrimPrefix(reason, failureProvisionPrefix) + "). You are not charged for it."
	case reason != "":
		return "failed: " + reason + "."
	}
	return "failed."
}

func releaseText(reason string) string {
	switch {
	case reason == releaseBalance:
		return "was released automatically because your balance reached zero (zero-balance force release). Add credit before creating another allocation."
	case strings.HasPrefix(reason, releaseByAdminPrefix):
		return "was released by an administrator: " + strings.TrimPrefix(reason, releaseByAdminPrefix) + "."
	case reason == releaseByUser:
		return "was released as you asked. Billing stopped when you asked."
	case reason != "":
		return "was released: " + reason + "."
	}
	return "was released."
}

func nodeOfflineText(a db.GetNotifyAllocationRow, n events.Node) (title, body string) {
	name := allocationName(a)
	why := ""
	if n.Reason != "" {
		why = " (" + n.Reason + ")"
	}
	return name + ": node offline",
		fmt.Sprintf("The node running %s, %s, stopped reporting%s. Billing for %s is paused until the node is back.", name, n.Hostname, why, name)
}

func nodeDrainingText(a db.GetNotifyAllocationRow, n events.Node) (title, body string) {
	name := allocationName(a)
	when := "soon"
	if n.Deadline != nil {
		when = "at " + n.Deadline.UTC().Format("2006-01-02 15:04 MST")
	}
	return name + ": node going into maintenance",
		fmt.Sprintf("The node running %s, %s, is being drained for maintenance (%s). %s will be released %s; "+
			"it is charged up to then at the latest. Save your work and release it earlier if you can.", name, n.Hostname, n.Reason, name, when)
}

func gpuText(a db.GetNotifyAllocationRow, g events.GPU) (title, body string) {
	name := allocationName(a)
	why := ""
	if g.Reason != "" {
		why = ": " + g.Reason
	}
	return "A GPU of " + name + " failed",
		fmt.Sprintf("GPU %d under %s reported a fault%s. Its node takes no new allocations; consider releasing %s and creating another.", g.Index, name, why, name)
}

func balanceText(typ string, b events.Balance) (title, body string) {
	amount := money.Format(b.BalanceMinor, b.Currency)
	switch typ {
	case events.BillingBalanceCredited:
		return "Credit added", "Your balance is now " + amount + "."
	case events.BillingBalanceDepleted:
		return "Balance depleted: allocations released",
			"Your balance reached zero (" + amount + "), so your running allocations are being released (zero-balance force release). Add credit to create allocations again."
	case events.BillingAutoReleasePending:
		body := "Your balance is " + amount
		if b.RunwaySeconds != nil {
			body += ", which lasts about " + runway(time.Duration(*b.RunwaySeconds)*time.Second) + " at what you run now"
		}
		return "Allocations will be released soon", body + ". When it reaches zero your running allocations are released. Add credit now to keep them."
	}
	body = "Your balance is " + amount
	if b.RunwaySeconds != nil {
		body += ", which lasts about " + runway(time.Duration(*b.RunwaySeconds)*time.Second) + " at what you run now"
	}
	return "Low balance", body + ". Add credit: at zero, running allocations are released."
}

// runway renders a duration the way people say it: "2 h 5 min", "40 min".
func runway(d time.Duration) string {
	if d < time.Minute {
		return "under a minute"
	}
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h >= 48:
		return fmt.Sprintf("%d days", h/24)
	case h > 0 && m > 0:
		return fmt.Sprintf("%d h %d min", h, m)
	case h > 0:
		return fmt.Sprintf("%d h", h)
	}
	return fmt.Sprintf("%d min", m)
}

func paymentText(typ string, p events.Payment) (title, body string) {
	amount := money.Format(p.AmountMinor, p.Currency)
	after := ""
	if p.BalanceMinor != nil {
		after = " Your balance is now " + money.Format(*p.BalanceMinor, p.Currency) + "."
	}
	why := ""
	if p.Reason != "" {
		why = " (" + p.Reason + ")"
	}
	switch typ {
	case events.PaymentSucceeded:
		return "Payment of " + amount + " received", "Your payment of " + amount + " succeeded and was added to your balance." + after
	case events.PaymentFailed:
		return "Payment of " + amount + " failed", "Your payment of " + amount + " did not go through" + why + ". Nothing was charged or credited; you can try again from Billing."
	}
	return "Refund of " + amount + " issued", "A refund of " + amount + " was issued to your payment method" + why + "." + after
}
