//go:build linux

package soak_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// goTool is the go command: the one on PATH, else the usual install path.
func goTool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if p := "/usr/local/go/bin/go"; fileExists(p) {
		return p
	}
	t.Fatal("no go toolchain: neither on PATH nor at /usr/local/go/bin/go")
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// buildGPUaaS builds ./cmd/gpuaas of the module under test into dir.
func buildGPUaaS(t *testing.T, dir string) string {
	t.Helper()
	goBin := goTool(t)
	gomod, err := exec.Command(goBin, "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	mod := strings.TrimSpace(string(gomod))
	if mod == "" || mod == os.DevNull {
		t.Fatal("go env GOMOD: not inside a module")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin := filepath.Join(dir, "gpuaas")
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", bin, "./cmd/gpuaas")
	cmd.Dir = filepath.Dir(mod)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/gpuaas: %v\n%s", err, out)
	}
	return bin
}

// baseEnv is this process's environment without GPUAAS_* settings, so that
// the machine's own configuration (or the soak's own knobs) cannot leak
// into the server: it gets exactly the flags the test names.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GPUAAS_") {
			env = append(env, kv)
		}
	}
	return env
}

// tailBuffer keeps the last max bytes a process wrote, so a long soak's
// log does not itself grow the test's memory without bound.
type tailBuffer struct {
	mu  sync.Mutex
	b   bytes.Buffer
	max int
}

func (s *tailBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Write(p)
	if over := s.b.Len() - s.max; over > 0 {
		s.b.Next(over)
	}
	return len(p), nil
}

func (s *tailBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is the long-running server process.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *tailBuffer
	done chan struct{} // closed once the process has been waited for
	err  error         // Wait's result, valid after done
	once sync.Once
}

// spawn starts bin with args and registers its stop on t.Cleanup; the tail
// of its output is logged when the test fails.
func spawn(t *testing.T, name, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, out: &tailBuffer{max: 256 << 10}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = baseEnv()
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	// Its own process group, and killed with the test binary should that
	// die first (a go test timeout), rather than outliving it.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("---- %s output (tail) ----\n%s---- end of %s output ----", name, p.out.String(), name)
		}
	})
	return p
}

// exited says whether the process has ended, and how.
func (p *proc) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// stop asks the process to shut down (SIGTERM), and kills its process
// group when it has not within the grace period.
func (p *proc) stop(t *testing.T) {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			t.Errorf("%s did not stop within 20s of SIGTERM; killing it", p.name)
		}
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	})
}

// eventually polls cond until it holds, failing the test after timeout or
// as soon as the watched process exits.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, error), watch *proc) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ok, err := cond()
		if ok {
			return
		}
		if err != nil {
			last = err
		}
		if done, perr := watch.exited(); done {
			t.Fatalf("%s: %s exited (%v) while waiting", what, watch.name, perr)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s (last error: %v)", what, timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
