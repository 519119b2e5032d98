package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/google/uuid"
)

// ErrNoContainer is an allocation without a container of this runtime on
// the engine (for an exec, without a running one): nothing to exec into
// or read logs from.
var ErrNoContainer = errors.New("no container of this allocation on the node")

// ErrNotRunning is an allocation whose container this runtime holds but
// which does not run (it exited, or is still being created): a session
// must not fall back to the host.
var ErrNotRunning = errors.New("the allocation's container is not running")

// loginShell starts bash as a login shell where the image has it, else sh
// (busybox, alpine). Login shells read /etc/profile, as an SSH login does.
const loginShell = `if command -v bash >/dev/null 2>&1; then exec bash -l; else exec sh -l; fi`

// ExecOptions say what to run inside an allocation's container.
type ExecOptions struct {
	// Command, when set, runs as `/bin/sh -c Command`; empty starts the
	// container's login shell (bash if present, else sh).
	Command string
	// TTY gives the process a terminal of Cols x Rows (80x24 when zero);
	// without it stdout and stderr travel apart and stdin can be closed.
	TTY        bool
	Cols, Rows int
	// Env adds variables (TERM, an SSH client's LANG …) to the container's.
	Env []string
}

// ExecSession is one process running inside a container through the
// engine's exec API, attached over a hijacked connection.
type ExecSession struct {
	r      *Runtime
	id     string
	tty    bool
	attach types.HijackedResponse
}

// Exec starts opts in allocationID's running container. The GPU variables
// are the container's own, so nothing is added for them.
func (r *Runtime) Exec(ctx context.Context, allocationID uuid.UUID, opts ExecOptions) (*ExecSession, error) {
	if _, err := r.runningContainer(ctx, allocationID); err != nil {
		return nil, err
	}
	cmd := []string{"/bin/sh", "-c", loginShell}
	if opts.Command != "" {
		cmd = []string{"/bin/sh", "-c", opts.Command}
	} else if !opts.TTY {
		// Like `ssh -T host`: a shell that reads its commands from stdin.
		cmd = []string{"/bin/sh", "-c", `if command -v bash >/dev/null 2>&1; then exec bash; else exec sh; fi`}
	}
	eo := container.ExecOptions{Tty: opts.TTY, AttachStdin: true, AttachStdout: true, AttachStderr: true,
		Cmd: cmd, Env: opts.Env}
	var size *[2]uint
	if opts.TTY {
		cols, rows := opts.Cols, opts.Rows
		if cols <= 0 || rows <= 0 || cols >= 1<<16 || rows >= 1<<16 {
			cols, rows = 80, 24
		}
		size = &[2]uint{uint(rows), uint(cols)}
		eo.ConsoleSize = size
	}
	created, err := r.cli.ContainerExecCreate(ctx, Name(allocationID), eo)
	if err != nil {
		return nil, fmt.Errorf("create exec in container %s: %w", Name(allocationID), err)
	}
	attach, err := r.cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{Tty: opts.TTY, ConsoleSize: size})
	if err != nil {
		return nil, fmt.Errorf("attach to exec in container %s: %w", Name(allocationID), err)
	}
	s := &ExecSession{r: r, id: created.ID, tty: opts.TTY, attach: attach}
	if size != nil {
		// Engines that do not apply ConsoleSize (or apply it late) start
		// the TTY at 0x0: set it once more now the process runs.
		_ = s.Resize(ctx, int(size[1]), int(size[0]))
	}
	return s, nil
}

// runningContainer is the id of allocationID's container when this runtime
// manages it and it runs; ErrNoContainer otherwise.
func (r *Runtime) runningContainer(ctx context.Context, allocationID uuid.UUID) (string, error) {
	c, err := r.cli.ContainerInspect(ctx, Name(allocationID))
	if err != nil {
		if errdefs.IsNotFound(err) {
			return "", ErrNoContainer
		}
		return "", fmt.Errorf("inspect container %s: %w", Name(allocationID), err)
	}
	if c.Config == nil || !managed(c.Config.Labels, allocationID) ||
		(r.Scope != "" && c.Config.Labels[LabelScope] != r.Scope) {
		return "", ErrNoContainer
	}
	if c.State == nil || !c.State.Running {
		return "", fmt.Errorf("%w (container %s is %s)", ErrNotRunning, Name(allocationID), stateOf(c).Status)
	}
	return c.ID, nil
}

// Holds says whether allocationID has a running container of this
// runtime: the terminals and SSH sessions of such an allocation land in
// it. A container of its that does not run is ErrNotRunning.
func (r *Runtime) Holds(ctx context.Context, allocationID uuid.UUID) (bool, error) {
	_, err := r.runningContainer(ctx, allocationID)
	if errors.Is(err, ErrNoContainer) {
		return false, nil
	}
	return err == nil, err
}

// TTY says whether the process has a terminal.
func (s *ExecSession) TTY() bool { return s.tty }

// Stdin is the process's input. Writes go straight to the engine.
func (s *ExecSession) Stdin() io.Writer { return s.attach.Conn }

// CloseStdin ends the process's input (EOF), keeping its output open.
func (s *ExecSession) CloseStdin() error { return s.attach.CloseWrite() }

// drainGrace is how long output may go on after the process exited
// before Output stops waiting for its end: a background job that holds
// the process's stdout must not hold the session.
const drainGrace = time.Second

// Output copies the process's output until it ends: with a TTY all of it
// goes to stdout; without, the engine's multiplexed stream is split into
// stdout and stderr. It also ends drainGrace after the process exited.
func (s *ExecSession) Output(stdout, stderr io.Writer) error {
	done := make(chan struct{})
	defer close(done)
	go s.watch(done)
	var err error
	if s.tty {
		_, err = io.Copy(stdout, s.attach.Reader)
	} else {
		_, err = stdcopy.StdCopy(stdout, stderr, s.attach.Reader)
	}
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// watch closes the attached connection drainGrace after the process
// exited, unless done closes first. It asks the engine once a second.
func (s *ExecSession) watch(done chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		if running, err := s.Running(context.Background()); err != nil || running {
			continue
		}
		select {
		case <-done:
		case <-time.After(drainGrace):
			s.attach.Close()
		}
		return
	}
}

// Resize sets the terminal's size (a TTY session only).
func (s *ExecSession) Resize(ctx context.Context, cols, rows int) error {
	if !s.tty || cols <= 0 || rows <= 0 || cols >= 1<<16 || rows >= 1<<16 {
		return nil
	}
	return s.r.cli.ContainerExecResize(ctx, s.id, container.ResizeOptions{Height: uint(rows), Width: uint(cols)})
}

// Running reports whether the process still runs.
func (s *ExecSession) Running(ctx context.Context) (bool, error) {
	st, err := s.r.cli.ContainerExecInspect(ctx, s.id)
	if err != nil {
		return false, fmt.Errorf("inspect exec: %w", err)
	}
	return st.Running, nil
}

// Wait returns the process's exit code once the engine records it (after
// Output has ended, that is soon). A process the engine cannot account
// for reports -1.
func (s *ExecSession) Wait(ctx context.Context) (int, error) {
	for {
		st, err := s.r.cli.ContainerExecInspect(ctx, s.id)
		if err != nil {
			return -1, fmt.Errorf("inspect exec: %w", err)
		}
		if !st.Running {
			return st.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return -1, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Close drops the attached connection: the process loses its input and
// output (a shell on a TTY or reading stdin then ends).
func (s *ExecSession) Close() error {
	s.attach.Close()
	return nil
}
