// Package servertest starts a real control plane for a test: a fresh
// PostgreSQL database cloned from the migrated template, a real HTTP server
// on a loopback port, and SDK clients whose every response is checked
// against api/openapi.yaml.
package servertest
