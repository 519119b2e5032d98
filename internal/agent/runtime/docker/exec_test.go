package docker_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/agent/runtime/docker"
)

// syncBuffer is a bytes.Buffer safe to read while Output writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// running provisions a busybox allocation and waits for its container.
func running(t *testing.T, rt *docker.Runtime) uuid.UUID {
	t.Helper()
	w := workload(t, rt)
	if err := rt.Provision(context.Background(), w); err != nil {
		t.Fatalf("provision: %v", err)
	}
	return w.AllocationID
}

// TestExecTTYShell: a TTY shell inside the container echoes what it is
// told, resizes, and reports its exit code.
func TestExecTTYShell(t *testing.T) {
	rt, _ := newRuntime(t)
	ctx := context.Background()
	id := running(t, rt)
	if ok, err := rt.Holds(ctx, id); !ok || err != nil {
		t.Fatalf("holds: %v %v", ok, err)
	}
	s, err := rt.Exec(ctx, id, docker.ExecOptions{TTY: true, Cols: 100, Rows: 30, Env: []string{"TERM=xterm"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- s.Output(&out, nil) }()
	if err := s.Resize(ctx, 120, 40); err != nil {
		t.Fatalf("resize: %v", err)
	}
	if _, err := s.Stdin().Write([]byte("stty size; echo in-$GREETING-$NVIDIA_VISIBLE_DEVICES; exit 3\n")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("output: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("shell did not exit; output %q", out.String())
	}
	if !strings.Contains(out.String(), "40 120") || !strings.Contains(out.String(), "in-hi-GPU-") {
		t.Errorf("output %q: want the resized size and the container's env", out.String())
	}
	code, err := s.Wait(ctx)
	if err != nil || code != 3 {
		t.Errorf("exit %d %v, want 3", code, err)
	}
}

// TestExecPipes: without a TTY stdout and stderr arrive apart, stdin ends
// with CloseStdin, and the exit code is the command's.
func TestExecPipes(t *testing.T) {
	rt, _ := newRuntime(t)
	ctx := context.Background()
	id := running(t, rt)
	s, err := rt.Exec(ctx, id, docker.ExecOptions{Command: "cat; echo oops >&2; exit 7"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- s.Output(&stdout, &stderr) }()
	if _, err := s.Stdin().Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	if err := s.CloseStdin(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("output: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("command did not end after stdin EOF")
	}
	if stdout.String() != "hello\n" || stderr.String() != "oops\n" {
		t.Errorf("stdout %q stderr %q", stdout.String(), stderr.String())
	}
	if code, err := s.Wait(ctx); err != nil || code != 7 {
		t.Errorf("exit %d %v, want 7", code, err)
	}
	if err := s.Resize(ctx, 10, 10); err != nil {
		t.Errorf("resize without a TTY: %v", err)
	}
}

// TestExecNoContainer: an allocation without a container of this runtime
// is ErrNoContainer, and Holds says no.
func TestExecNoContainer(t *testing.T) {
	rt, _ := newRuntime(t)
	id := uuid.New()
	if _, err := rt.Exec(context.Background(), id, docker.ExecOptions{}); !errors.Is(err, docker.ErrNoContainer) {
		t.Errorf("exec: %v, want ErrNoContainer", err)
	}
	if ok, err := rt.Holds(context.Background(), id); ok || err != nil {
		t.Errorf("holds: %v %v", ok, err)
	}
}

// TestExecStoppedContainer: a container of the allocation that does not
// run is ErrNotRunning, so that no session falls back to the host.
func TestExecStoppedContainer(t *testing.T) {
	rt, cli := newRuntime(t)
	ctx := context.Background()
	id := running(t, rt)
	timeout := 0
	if err := cli.ContainerStop(ctx, docker.Name(id), container.StopOptions{Timeout: &timeout}); err != nil {
		t.Fatal(err)
	}
	if ok, err := rt.Holds(ctx, id); ok || !errors.Is(err, docker.ErrNotRunning) {
		t.Errorf("holds a stopped container: %v %v, want ErrNotRunning", ok, err)
	}
	if _, err := rt.Exec(ctx, id, docker.ExecOptions{}); !errors.Is(err, docker.ErrNotRunning) {
		t.Errorf("exec in a stopped container: %v", err)
	}
}
