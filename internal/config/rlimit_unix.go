//go:build unix

package config

import "syscall"

// OpenFileLimit is this process's soft RLIMIT_NOFILE (which the Go runtime
// raises to the hard limit at start on Linux).
func OpenFileLimit() (uint64, bool) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur == 0 {
		return 0, false
	}
	return uint64(rl.Cur), true
}
