// Package soak holds the soak test: a real `gpuaas server` process (built
// with go build, on a fresh database of its own and its own NATS namespace,
// with the sim runtime) under a steady, bounded mix of user and admin
// traffic over loopback, while the test samples the server's heap in use,
// goroutines and open file descriptors (from its /metrics) and its
// PostgreSQL connections (pg_stat_activity). It fails when a figure grows
// past the bounds stated in soak_test.go and docs/operations.md.
//
// In plain `go test ./...` it runs for about a minute; `make soak`
// (DURATION=10m by default, GPUAAS_SOAK_DURATION to the test) runs the same
// code for longer and prints the figures.
//
// The package has no non-test code and must not grow any: nothing in the
// product may import it. It leaves no process, database or NATS stream
// behind, even when it fails.
package soak
