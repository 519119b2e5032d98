// Package launchable owns the catalogue of workloads an allocation can run
// and turns a user's workload request into what the allocation stores.
//
// The catalogue is data: YAML manifests embedded in the binary
// (manifests/*.yaml: shell, container, jupyter), which an operator may
// override by id or extend with a directory (--launchables-dir). Resolve
// checks a request against its manifest and the operator's image policy
// (--image-allow globs, matched against the image reference as the user
// wrote it) and answers with typed 400s that name the field.
//
// It must not store anything, talk to nodes, or log a param or env value:
// secret values leave it only in Resolved.SecretEnv, which the allocation
// service seals before anything is written.
package launchable
