// Package auth owns who the caller is: password login with throttling,
// Ed25519-signed access tokens (JWT, alg EdDSA) and their verification,
// rotating opaque refresh tokens with reuse detection (and a short grace
// window in which a replayed token gets its successor back), sessions ended
// through a deny-list of access-token ids and session ids (logout, password
// change, role change, reuse), password change, and the signing-key ring
// published as JWKS.
//
// State lives in two places: durable state (signing keys sealed under the
// master key, refresh-token hashes, audit rows) in Postgres, and short-lived
// state (login counters per address, per (username, address) pair and per
// username, the user's usual sign-in addresses, the deny-list) in the
// shared kv store. The kv
// store fails open: when it is down, logins are not throttled and revoked
// access tokens are accepted until they expire (at most AccessTTL); each
// such decision is counted in gpuaas_kv_fail_open_total.
//
// Access tokens are verified without a database read. Each carries its
// session id (sid, the refresh-token family); ending a session revokes its
// refresh tokens in Postgres and, after commit, flags the sid in the kv
// store for AccessTTL plus leeway, so every replica refuses all of that
// session's access tokens on their next request.
//
// API tokens (gpat_…, apitoken.go) are the other kind of bearer: long-lived,
// scoped, stored as SHA-256 hashes and looked up in Postgres on every
// request (no cache), so a revocation holds on every replica from the next
// request. Which scope a route needs is the HTTP layer's route table.
//
// It must not know about HTTP (headers, cookies, status codes): it returns
// apperr errors and the HTTP layer renders them. It does not create or list
// users; package users does.
package auth
