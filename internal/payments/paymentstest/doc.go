// Package paymentstest is a stateful stand-in for the part of Stripe's API
// that package payments uses, for tests and the console's browser
// journeys only (never linked into gpuaas itself).
//
// It follows Stripe's documented behaviour (see
// ../shared/recipes/stripe-api.md): form-encoded requests with bracket
// notation, Bearer secret keys, Idempotency-Key replay, Checkout Sessions
// that can be paid (at once or asynchronously), expired and refunded
// (cumulative amount_refunded on the charge), disputes, customers and
// portal sessions, and events signed exactly as Stripe signs them
// (Stripe-Signature t=…,v1=…) and delivered to a webhook URL. stripe-mock
// checks the shape of requests; this checks the flows.
package paymentstest
