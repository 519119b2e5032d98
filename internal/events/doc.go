// Package events owns the platform's event contract in Go: the event types
// and their payloads (described for outsiders in api/asyncapi.yaml), the
// NATS subject and stream names, and Enqueue, which writes an event into
// the transactional outbox inside the caller's transaction. Publishing is
// package outbox's job, consuming package consumer's.
package events
