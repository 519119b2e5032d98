// Package secrets owns the master key (--secret-key-file) and the sealing of
// small secrets at rest with it (AES-256-GCM), such as the private halves of
// JWT signing keys.
//
// The key file holds 32 bytes as raw bytes, 64 hex characters or base64.
// Its permissions are not enforced: Kubernetes mounts Secrets group- or
// world-readable inside the pod by default, so refusing such a file would
// break the common deployment. Operators should still keep it 0600 on a host.
//
// It must not log, print or return key material in errors.
package secrets
