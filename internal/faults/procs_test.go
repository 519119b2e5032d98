//go:build linux

package faults_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// tailBuffer keeps the last part of a process's output (across restarts),
// for the failure log: a long run would otherwise hold megabytes.
type tailBuffer struct {
	mu  sync.Mutex
	b   []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append([]byte(nil), t.b[len(t.b)-t.max/2:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// daemon is one long-running child (a server replica, an agent, Postgres,
// NATS, Redis) that the test kills and starts again. Supervised daemons
// are restarted after an exit nobody asked for, as systemd's
// Restart=always would; such exits are counted as findings.
type daemon struct {
	name       string
	newCmd     func() *exec.Cmd
	supervised bool
	out        *tailBuffer
	log        func(format string, args ...any)

	mu         sync.Mutex
	cmd        *exec.Cmd
	done       chan struct{}
	want       bool // up is wanted: an exit now is unexpected
	closed     bool
	starts     int
	unexpected []string // why each unexpected exit happened
}

func newDaemon(t *testing.T, name string, supervised bool, newCmd func() *exec.Cmd) *daemon {
	d := &daemon{name: name, newCmd: newCmd, supervised: supervised, out: &tailBuffer{max: 512 << 10}, log: t.Logf}
	t.Cleanup(func() {
		d.shutdown()
		if t.Failed() && os.Getenv("GPUAAS_FAULTS_QUIET") == "" {
			t.Logf("---- %s output (tail) ----\n%s---- end of %s output ----", name, d.out.String(), name)
		}
	})
	return d
}

// start starts the process; it must not be running.
func (d *daemon) start() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.startLocked()
}

func (d *daemon) startLocked() error {
	if d.closed {
		return fmt.Errorf("%s: shut down", d.name)
	}
	if d.cmd != nil {
		return fmt.Errorf("%s: already running", d.name)
	}
	cmd := d.newCmd()
	cmd.Stdout, cmd.Stderr = d.out, d.out
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	// Its own process group, so a kill reaches whatever it forked; and
	// killed with the test binary should that die first.
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	fmt.Fprintf(d.out, "==== %s start #%d at %s ====\n", d.name, d.starts+1, time.Now().Format(time.RFC3339Nano))
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", d.name, err)
	}
	d.starts++
	done := make(chan struct{})
	d.cmd, d.done, d.want = cmd, done, true
	go d.wait(cmd, done)
	return nil
}

func (d *daemon) wait(cmd *exec.Cmd, done chan struct{}) {
	err := cmd.Wait()
	d.mu.Lock()
	defer d.mu.Unlock()
	// Cleared before done is closed: whoever waited on done may start
	// the next process at once.
	defer close(done)
	if d.cmd != cmd {
		return
	}
	d.cmd, d.done = nil, nil
	if !d.want || d.closed {
		return
	}
	why := fmt.Sprintf("%s exited on its own at %s: %v", d.name, time.Now().Format("15:04:05.000"), err)
	d.unexpected = append(d.unexpected, why)
	d.log("%s", why)
	if d.supervised {
		go func() {
			time.Sleep(time.Second) // systemd's RestartSec, shortened
			d.mu.Lock()
			defer d.mu.Unlock()
			if d.cmd == nil && d.want && !d.closed {
				if err := d.startLocked(); err != nil {
					d.log("supervisor: %v", err)
				}
			}
		}()
	}
}

// signal sends sig to the process (group when group) and waits up to
// timeout for it to exit; it is then not restarted until start.
func (d *daemon) signal(sig syscall.Signal, group bool, timeout time.Duration) error {
	d.mu.Lock()
	cmd, done := d.cmd, d.done
	d.want = false
	d.mu.Unlock()
	if cmd == nil {
		return nil
	}
	pid := cmd.Process.Pid
	if group {
		pid = -pid
	}
	_ = syscall.Kill(pid, sig)
	select {
	case <-done:
	case <-time.After(timeout):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return fmt.Errorf("%s did not exit within %s of %s; killed", d.name, timeout, sig)
	}
	return nil
}

// kill9 is the crash: SIGKILL to the whole process group, no goodbye.
func (d *daemon) kill9() error { return d.signal(syscall.SIGKILL, true, 10*time.Second) }

func (d *daemon) running() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cmd != nil
}

// shutdown stops the process for good (test cleanup): SIGTERM, then the
// group's SIGKILL.
func (d *daemon) shutdown() {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	_ = d.signal(syscall.SIGTERM, false, 10*time.Second)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd != nil { // a supervisor restart raced the flag
		_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
	}
}

func (d *daemon) unexpectedExits() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.unexpected...)
}

// poll runs cond until it holds or the deadline passes; it never sleeps
// longer than step between tries.
func poll(ctx context.Context, timeout, step time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s (last error: %v)", timeout, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(step):
		}
	}
}

// freePort is a loopback port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// tcpUp says whether something accepts connections at addr.
func tcpUp(addr string) (bool, error) {
	c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return false, err
	}
	c.Close()
	return true, nil
}
