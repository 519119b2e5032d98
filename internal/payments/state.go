package payments

import (
	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Statuses of a payment.
const (
	StatusPending           = string(api.PaymentStatusPending)
	StatusSucceeded         = string(api.PaymentStatusSucceeded)
	StatusFailed            = string(api.PaymentStatusFailed)
	StatusExpired           = string(api.PaymentStatusExpired)
	StatusRefunded          = string(api.PaymentStatusRefunded)
	StatusPartiallyRefunded = string(api.PaymentStatusPartiallyRefunded)
	StatusDisputed          = string(api.PaymentStatusDisputed)
	StatusFailedReconcile   = string(api.PaymentStatusFailedReconcile)
)

// transitions is the one table of allowed status changes (docs/payments.md
// draws it). A paid session wins over failed and expired: money Stripe
// holds for us is credited, whatever came first.
var transitions = map[string][]string{
	StatusPending:           {StatusSucceeded, StatusFailed, StatusExpired, StatusFailedReconcile},
	StatusFailed:            {StatusSucceeded},
	StatusExpired:           {StatusSucceeded},
	StatusSucceeded:         {StatusPartiallyRefunded, StatusRefunded, StatusDisputed},
	StatusPartiallyRefunded: {StatusPartiallyRefunded, StatusRefunded, StatusDisputed},
	StatusDisputed:          {StatusSucceeded, StatusPartiallyRefunded, StatusRefunded},
	StatusRefunded:          {StatusDisputed},
	StatusFailedReconcile:   {},
}

// canMove reports whether a payment may go from one status to another;
// staying is always allowed.
func canMove(from, to string) bool {
	if from == to {
		return true
	}
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// settled is the status of a credited payment from its amounts: an open
// or lost dispute shows as disputed, then refunds.
func settled(p db.Payment) string {
	switch {
	case p.DisputeStatus != nil && *p.DisputeStatus != disputeWon:
		return StatusDisputed
	case p.RefundedMinor >= p.AmountMinor:
		return StatusRefunded
	case p.RefundedMinor > 0:
		return StatusPartiallyRefunded
	}
	return StatusSucceeded
}

// disputeWon is the dispute status that gives the frozen amount back; any
// other closed status (lost) keeps it.
const disputeWon = "won"
