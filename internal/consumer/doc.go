// Package consumer runs JetStream durable consumers of the events stream
// and gives them the bookkeeping that makes redelivery harmless.
//
// Run pulls with explicit ack, calls a Handler for each event, acks on
// success, and on failure naks with a growing delay until the event's last
// delivery, when it writes a dead_letters row an operator can see and
// terminates the message. ApplyOnce records, in the handler's own
// transaction, that a consumer applied an event, so a redelivered event
// (after a crash, a lost ack or a relay republish) changes nothing.
//
// Each consumer is sent only its event types: one durable filters them
// all on NATS 2.10 and later, one durable per type does on older servers
// (see ensure).
//
// Delivery is at least once and in no promised order; a handler must be
// idempotent (use ApplyOnce) and must not rely on order. The package does
// not publish events (package outbox does) and knows nothing of what a
// handler does.
package consumer
