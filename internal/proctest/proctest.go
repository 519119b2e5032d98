package proctest

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gpuaas/gpuaas/internal/events"
)

// GoTool is the go command: the one on PATH, else the usual install path.
func GoTool(t testing.TB) string {
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

// BuildGPUaaS builds ./cmd/gpuaas of the module under test into dir and
// returns the binary's path.
func BuildGPUaaS(t testing.TB, dir string) string {
	t.Helper()
	goBin := GoTool(t)
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

// BaseEnv is this process's environment without GPUAAS_* settings, so that
// the machine's own configuration cannot leak into the processes under
// test: each gets exactly the flags and variables the test names.
func BaseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GPUAAS_") {
			env = append(env, kv)
		}
	}
	return env
}

// Output collects a process's output, written by exec's copy goroutines
// and read by the test; with Max > 0 it keeps only the last Max bytes, so
// a long run's log does not itself grow the test's memory.
type Output struct {
	Max int
	mu  sync.Mutex
	b   bytes.Buffer
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.b.Write(p)
	if over := o.b.Len() - o.Max; o.Max > 0 && over > 0 {
		o.b.Next(over)
	}
	return len(p), nil
}

func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// Proc is a long-running child process (a server or an agent).
type Proc struct {
	Name string
	Cmd  *exec.Cmd
	Out  *Output
	done chan struct{} // closed once the process has been waited for
	err  error         // Wait's result, valid after done
	once sync.Once
}

// Spawn starts bin with args, env on top of BaseEnv, and its output in out
// (a fresh whole-output buffer when nil); it registers Stop on t.Cleanup
// and logs the output when the test fails.
func Spawn(t testing.TB, name, bin string, env []string, out *Output, args ...string) *Proc {
	t.Helper()
	if out == nil {
		out = &Output{}
	}
	p := &Proc{Name: name, Out: out, done: make(chan struct{})}
	p.Cmd = exec.Command(bin, args...)
	p.Cmd.Env = append(BaseEnv(), env...)
	p.Cmd.Stdout, p.Cmd.Stderr = p.Out, p.Out
	// Its own process group, so that Stop reaches whatever it forked in
	// that group; and killed with the test binary should that die first
	// (a go test timeout), rather than outliving it.
	p.Cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.Cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.Cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Stop(t)
		if t.Failed() {
			t.Logf("---- %s output ----\n%s---- end of %s output ----", name, p.Out.String(), name)
		}
	})
	return p
}

// Exited says whether the process has ended, and how.
func (p *Proc) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// Done is closed once the process has ended.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Stop asks the process to shut down (SIGTERM), and kills its process
// group when it has not within 20 s, or at once afterwards for whatever
// the group still holds.
func (p *Proc) Stop(t testing.TB) {
	p.once.Do(func() {
		_ = p.Cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			t.Errorf("%s did not stop within 20s of SIGTERM; killing it", p.Name)
		}
		// The group may hold children even after the leader exited.
		_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	})
}

// Eventually polls cond every 100 ms until it holds, failing the test
// after timeout, or at once when one of the watched processes exits. A
// non-nil err from cond is kept to say why it never held.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() (bool, error), watch ...*Proc) {
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
		for _, p := range watch {
			if done, perr := p.Exited(); done {
				t.Fatalf("%s: %s exited (%v) while waiting", what, p.Name, perr)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s (last error: %v)", what, timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// FreeAddr is a loopback host:port that nothing listens on right now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// DeleteStream removes, at cleanup, the JetStream stream (and with it the
// durable consumers) a server under test created for namespace on the
// NATS at natsURL. Failures are logged: they leave only test debris.
func DeleteStream(t testing.TB, natsURL, namespace string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Logf("cleanup: connect to NATS: %v", err)
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Logf("cleanup: JetStream: %v", err)
		return
	}
	if err := js.DeleteStream(ctx, events.Naming{Namespace: namespace}.Stream()); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Logf("cleanup: delete stream: %v", err)
	}
}
