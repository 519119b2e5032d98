// Package password owns how user passwords are stored and which passwords
// are acceptable: argon2id hashing in PHC string form, constant-time
// verification, a decoy verification for unknown users, and the NIST SP
// 800-63B policy (length bounds, a list of common passwords, not the
// username).
//
// It must not know about users, sessions or HTTP: callers decide what a
// failed verification means and how it is throttled.
package password
