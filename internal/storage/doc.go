// Package storage owns the users' file storage: one namespace per owner
// (u-<user uuid>; t-<team uuid> later) and region, kept on the region's
// backend, a directory tree on a filesystem the control plane and the
// region's nodes all mount (fs) or a bucket and prefix on an
// S3-compatible store (s3).
//
// It owns path resolution, which refuses every escape from a namespace
// (CleanPath rejects the string, and the fs backend does every operation
// through an os.Root opened at the namespace, so a symlink, even one a
// workload plants later, cannot lead out), the quota (reserved atomically
// in Postgres before bytes are written) and the usage figures.
//
// It does not know HTTP: handlers in internal/server decode, call the
// Service and turn its apperr errors into the envelope. It does not mount
// anything on nodes.
package storage
