// Package idempotency makes a money- or state-moving POST safe to retry:
// the response to a request carrying an Idempotency-Key is stored in the
// same transaction as the change it answers, and a retry with the same key
// and body gets those exact bytes back without doing anything. The same key
// with a different body is 422 idempotency_key_mismatch. Keys are per user.
package idempotency
