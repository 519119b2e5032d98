package agent_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMain gives the package's tests an empty HOME. The sim runtime's
// shells are the test process's own: they stay off the machine's ~/.bashrc,
// which may be slow (a stale pyenv lock once held every interactive shell
// for 60 s). It is set once here, not per test, because the tests run in
// parallel and the environment belongs to the whole process. The Go
// toolchain's caches live under HOME by default: they stay where they were,
// so the tests that build the binary find them warm.
func TestMain(m *testing.M) {
	if err := emptyHome(); err != nil {
		fmt.Fprintln(os.Stderr, "agent tests:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(os.Getenv("HOME"))
	os.Exit(code)
}

func emptyHome() error {
	// Where the toolchain keeps its caches now, as go itself resolves them
	// (defaults, its env file, the environment), pinned before HOME moves.
	out, err := exec.Command("go", "env", "GOPATH", "GOMODCACHE", "GOCACHE", "GOENV").Output()
	if err != nil {
		return fmt.Errorf("go env: %w", err)
	}
	vals := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(vals) != 4 {
		return fmt.Errorf("go env: %q", out)
	}
	for i, k := range []string{"GOPATH", "GOMODCACHE", "GOCACHE", "GOENV"} {
		if err := os.Setenv(k, vals[i]); err != nil {
			return err
		}
	}
	empty, err := os.MkdirTemp("", "agent-test-home-")
	if err != nil {
		return err
	}
	return os.Setenv("HOME", empty)
}
