// Package nodeauth owns how a node agent proves who it is. An admin issues
// a one-time join token for a registered node (it expires, 1 h by
// default); the agent trades it exactly once for its own long-lived node
// credential, which it keeps on the host and presents on every connection.
// An operator can revoke a node's credentials. Tokens and credentials are
// stored as SHA-256 hashes only, and compared in constant time.
//
// It does not run the agent protocol; it only answers "which node is this?".
package nodeauth
