// Package oidc owns sign-in through OpenID Connect providers: the
// authorization code flow with PKCE (S256), state and nonce; discovery and
// the provider's keys (fetched again when it rotates them); ID-token
// validation; and who the identity is here (a linked identity, a user
// linked by verified email, or one created just in time), with an admin
// role mapped from a claim at every sign-in.
//
// The state of a flow in progress is a single-use record in the kv store
// (ten minutes), bound to the browser that started it by a random value
// whose hash the record holds and which only that browser has (a cookie
// the HTTP layer sets). Sessions are started by package auth, as for a
// password sign-in.
//
// It must not know about HTTP beyond building the provider's URLs: the
// server sets cookies and redirects. It never logs tokens, codes or secrets.
package oidc
