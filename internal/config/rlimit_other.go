//go:build !unix

package config

// OpenFileLimit is unknown on this platform.
func OpenFileLimit() (uint64, bool) { return 0, false }
