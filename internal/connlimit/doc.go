// Package connlimit caps the long-lived connections (websockets) one
// replica holds: per key (a user) and in total. It counts in this process
// only; with several replicas each applies its own caps. It knows nothing
// of HTTP beyond returning apperr errors a handler can render, and must be
// asked before a connection is upgraded, so a refusal is a plain response.
package connlimit
