// Package sshkeys owns users' SSH public keys: parsing and vetting what a
// user pastes, storing it under the per-user cap, listing and deleting.
// It does not write keys on nodes itself: AllocationKeys says which lines an
// allocation installs (the provision task carries them), and a key change
// writes an ssh_keys.changed event that the Pusher, a worker-role consumer,
// turns into a set_keys task for each of the user's active allocations
// (allocation.KeySetter).
//
// Decisions:
//   - The stored public_key is "type base64" only. The comment is dropped:
//     it is free text that would otherwise be written into authorized_keys.
//   - Accepted: ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa of 2048
//     to 16384 bits, and the FIDO security-key types sk-ssh-ed25519@openssh.com
//     and sk-ecdsa-sha2-nistp256@openssh.com (OpenSSH 8.2+ on the node).
//   - Refused: DSA, RSA under 2048 bits (or over 16384, which only costs the
//     server), certificates, authorized_keys options, several keys in one
//     field, and private keys pasted by mistake.
package sshkeys
