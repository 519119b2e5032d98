// Package faults is the fault-injection suite: it runs the real control
// plane (two `gpuaas server` replicas behind a small TCP balancer) and
// several `gpuaas agent --runtime sim` processes against a Postgres, a NATS
// JetStream and a Redis of its own, drives a seeded random workload through
// the SDK, kills and restarts every one of those processes at random
// moments, and then checks the lifecycle, billing, ledger and event
// invariants directly in the database and the stream.
//
// It owns only test code: it must not be imported, and it must not change
// the behaviour it observes (no hooks in production code). It needs root
// (Postgres runs as the postgres user, started by the test) and the
// postgres, nats-server and redis-server binaries; without them it skips.
//
// Short form (`go test ./internal/faults`, part of `make test`): about a
// minute, at least 30 faults. Long form (`make test-faults`, or
// GPUAAS_FAULTS_LONG=1 / -faults.long): at least 200 faults. A run prints
// its seed; GPUAAS_FAULTS_SEED=N (or -faults.seed=N) replays its choices.
// See docs/testing.md.
package faults
