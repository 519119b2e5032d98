// Package payments takes money in through Stripe Checkout and keeps our
// ledger and Stripe in agreement.
//
// It owns the payments, payment_events, payment_refunds and
// stripe_customers tables; the Stripe client (stripe-go, pointed at
// --stripe-api-url); top-up checkout and customer-portal sessions; the
// webhook endpoint's signature check and event handling; admin refunds;
// and reconciliation, which lists recent Checkout Sessions from Stripe and
// repairs what webhooks missed.
//
// # Exactly once
//
// Money moves only through package ledger, and every posting's idempotency
// key names the payment and the step: "payment:<session>:credit",
// "payment:<id>:refunded-upto:<cumulative>" (admin refunds and
// charge.refunded alike, so either books what the other has not),
// "payment:<id>:dispute:<dp_…>:freeze" and ":unfreeze". Each change locks
// the payment's row first (FOR UPDATE), then the ledger accounts, so
// webhooks, reconciliation and admin refunds for one payment run one at a
// time, and a duplicate, late, reordered or concurrent event posts nothing
// twice. Events are stored by Stripe's id; a charge or dispute event that
// arrives before the session it belongs to completed waits in
// payment_events and is applied by the completion.
//
// The status of a payment follows the one table of allowed transitions in
// state.go (drawn in docs/payments.md).
//
// The package must not trust anything a webhook says before its signature
// is verified, and must not change allocations: a refund that takes a
// balance below zero leaves depletion to package billing.
package payments
