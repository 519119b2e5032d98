// Package httpapi owns the conventions every HTTP route follows: the router
// that records its routes (so a test can hold them against openapi.yaml),
// request ids, the access log, panic recovery, per-route metrics, strict
// JSON decoding with a body limit, cursor pagination, and the one place
// where errors become the JSON envelope {code, message, correlation_id}.
// It knows nothing of users, nodes or money.
package httpapi
