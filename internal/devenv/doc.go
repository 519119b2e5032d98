// Package devenv is `gpuaas dev`: the whole platform on one machine for a
// first look. It wraps the real control plane (package server) with what a
// newcomer would otherwise set up by hand: a data directory, a generated
// master key, the database created if missing, an embedded NATS JetStream
// server on a free loopback port, and demo data (a region, priced SKUs,
// simulated GPU nodes, an admin and a demo account).
//
// It owns only that scaffolding. It must not change how the control plane
// behaves: every request in dev goes through the same code as in
// production, and the seed goes through the domain services, never SQL.
package devenv
