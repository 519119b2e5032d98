// Package server assembles the control plane: it opens Postgres (and
// migrates), NATS and Redis, builds the domain services, mounts the HTTP
// routes with their middleware, and serves until the context ends. Handlers
// here are thin: decode, authorise, call a domain package, respond.
package server
