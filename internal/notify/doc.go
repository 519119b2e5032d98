// Package notify tells users, as it happens, what befalls their allocations
// and their money.
//
// A Relay is a durable JetStream consumer (worker role) of the allocation,
// node and billing events a user cares about. For each it first stores a
// notification (title and body for people, naming the allocation and why;
// one row per event, user and allocation, so a redelivery adds nothing),
// which Inbox lists and marks read, then publishes a minimal JSON message
// (type, the event id, the ids and status concerned, the stored
// notification; never a secret) on the core NATS subject
// "<namespace>.notify.user.<user_id>". A Hub serves one websocket per
// signed-in client (api role): it subscribes to that user's subject, so a
// message published by any replica's relay reaches a client connected to
// any other replica.
//
// The kinds in MailKinds (low balance, auto-release pending, balance
// depleted, payment succeeded or failed, refund issued, allocation failed,
// release failed) are also queued for email (package mail) in the
// transaction that stores the notification, when the relay has
// MailOptions and the user has not opted out of the kind (Preferences).
// Payments code tells a user about a payment with EnqueuePayment in its own
// transaction.
//
// Delivery is at most once: a client that is not connected misses the
// message, and a client too slow to drain its bounded buffer is dropped
// (gpuaas_notify_dropped_clients_total) rather than stall the others.
package notify
