// Package cli implements the user-facing verbs of the gpuaas binary (login,
// logout, whoami, skus, nodes …). It talks to the control plane only through
// package sdk, keeps the signed-in session in a credentials file, and turns
// API errors into messages a person can act on.
//
// It must not import server-side packages: whatever the CLI can do, any
// other API client can do the same way.
package cli
