package agent_test

import (
	"fmt"
	"os"
	"path/filepath"
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
	home, err := os.UserHomeDir()
	if err != nil {
		return err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return err
	}
	config, err := os.UserConfigDir()
	if err != nil {
		return err
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		gopath = filepath.Join(home, "go")
	}
	for k, v := range map[string]string{
		"GOPATH":     gopath,
		"GOMODCACHE": filepath.Join(gopath, "pkg", "mod"),
		"GOCACHE":    filepath.Join(cache, "go-build"),
		"GOENV":      filepath.Join(config, "go", "env"),
	} {
		if os.Getenv(k) == "" {
			os.Setenv(k, v)
		}
	}
	empty, err := os.MkdirTemp("", "agent-test-home-")
	if err != nil {
		return err
	}
	return os.Setenv("HOME", empty)
}
