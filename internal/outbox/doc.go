// Package outbox publishes the transactional outbox to NATS JetStream.
//
// It owns the events stream's configuration (EnsureStream) and the Relay,
// which claims unpublished outbox rows with FOR UPDATE SKIP LOCKED,
// publishes each with Nats-Msg-Id set to the event id, and marks them
// published in the same transaction. A relay that dies after publishing but
// before committing leaves its rows unpublished; they are published again,
// and the stream's duplicate window drops the copies, so consumers see each
// event once. For the same reason the relay's transaction commits without
// waiting for the disk: a crash that loses its marks only means a
// republish. Any number of relays may run against one database.
//
// Rows are published in seq order within a relay's batch. Global order is
// not promised: a transaction that took a lower seq may commit later, and
// replicas publish their batches side by side. Consumers must not depend on
// order (they are level-triggered and idempotent; see package consumer).
//
// The package does not write outbox rows (events.Enqueue does, inside the
// transaction that makes the change) and does not consume events.
package outbox
