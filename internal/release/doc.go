// Package release describes the agent binary the control plane serves for
// self-update, and how its signature is made and checked.
//
// The control plane serves its own executable (one binary is both server
// and agent) at BinaryPath with the version, the SHA-256 and an Ed25519
// signature in the headers below. The signature is made with the
// platform's current token-signing key, whose public half is published at
// /.well-known/jwks.json, over Message(version, sha256). The message starts
// with a line no JWT signing input can hold, so a binary signature cannot
// pass for a token's or the other way round.
package release
