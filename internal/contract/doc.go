// Package contract holds the code against api/openapi.yaml in tests: it
// loads and validates the spec, and wraps an http.RoundTripper so that every
// response a test receives is checked against the documented status codes
// and schemas. It is imported only by tests.
package contract
