package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/agent/runtime/docker"
	"github.com/gpuaas/gpuaas/internal/agentproto"
)

// sftpServers are where distributions put OpenSSH's sftp-server.
var sftpServers = []string{"/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server",
	"/usr/lib/ssh/sftp-server", "/usr/libexec/sftp-server", "/usr/lib/sftp-server"}

// errNoSFTP is an allocation where no sftp-server is installed: the
// subsystem is refused (scp -O, the classic protocol, still works).
var errNoSFTP = errors.New("no sftp-server here (use scp -O)")

// procSpec is what an SSH session asks to run.
type procSpec struct {
	AllocationID string
	GPUUUIDs     []string
	TTY          bool
	Cols, Rows   int
	Command      string // empty: a login shell
	SFTP         bool   // the sftp subsystem instead of Command
}

// sessionProc is a running SSH session's process, inside a container or
// on the host.
type sessionProc interface {
	Stdin() io.Writer
	// CloseStdin passes the client's EOF on (pipes only).
	CloseStdin()
	// Output copies the process's output until it ends (stderr is not
	// used on a TTY).
	Output(stdout, stderr io.Writer) error
	Resize(cols, rows int)
	// Wait is the exit code once the process ended (-1 if unknown).
	Wait() int
	// Close hangs the process up.
	Close()
}

// start runs spec in the allocation's container when the docker runtime
// holds it, else on the host as a terminal would (the process runtime's
// user, or the agent's own in sim).
func (t *terminals) start(ctx context.Context, spec procSpec) (sessionProc, error) {
	d, err := t.containerOf(ctx, spec.AllocationID)
	if err != nil {
		return nil, err
	}
	if d != nil {
		return t.startContainer(ctx, d, spec)
	}
	if spec.SFTP {
		spec.Command = ""
		for _, p := range sftpServers {
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				spec.Command = p
				break
			}
		}
		if spec.Command == "" {
			return nil, errNoSFTP
		}
	}
	cmd, err := t.command(agentproto.TerminalHeader{AllocationID: spec.AllocationID, GPUUUIDs: spec.GPUUUIDs,
		Command: spec.Command, NoPTY: !spec.TTY})
	if err != nil {
		return nil, err
	}
	p := &hostProc{t: t, id: spec.AllocationID, cmd: cmd, exited: make(chan struct{})}
	if spec.TTY {
		size := &pty.Winsize{Cols: 80, Rows: 24}
		if spec.Cols > 0 && spec.Rows > 0 && spec.Cols < 1<<16 && spec.Rows < 1<<16 {
			size = &pty.Winsize{Cols: uint16(spec.Cols), Rows: uint16(spec.Rows)}
		}
		if p.ptmx, err = pty.StartWithSize(cmd, size); err != nil {
			return nil, fmt.Errorf("start shell: %w", err)
		}
	} else if err := p.startPipes(); err != nil {
		return nil, err
	}
	t.track(spec.AllocationID, cmd, p.exited, true)
	go func() {
		p.werr = cmd.Wait()
		close(p.exited)
		t.track(spec.AllocationID, cmd, p.exited, false)
	}()
	return p, nil
}

// startContainer runs spec through the engine's exec API.
func (t *terminals) startContainer(ctx context.Context, d *docker.Runtime, spec procSpec) (sessionProc, error) {
	id, _ := uuid.Parse(spec.AllocationID)
	if spec.SFTP {
		path, err := containerSFTP(ctx, d, id)
		if err != nil {
			return nil, err
		}
		spec.Command = "exec " + path
	}
	env := []string{}
	if spec.TTY {
		env = append(env, "TERM=xterm-256color")
	}
	s, err := d.Exec(ctx, id, docker.ExecOptions{Command: spec.Command, TTY: spec.TTY, Cols: spec.Cols, Rows: spec.Rows, Env: env})
	if err != nil {
		return nil, err
	}
	c := &containerProc{s: s}
	c.untrack = t.trackFunc(spec.AllocationID, func() { _ = s.Close() })
	return c, nil
}

// containerSFTP finds sftp-server inside the container.
func containerSFTP(ctx context.Context, d *docker.Runtime, id uuid.UUID) (string, error) {
	script := `for p in ` + strings.Join(sftpServers, " ") + `; do if [ -x "$p" ]; then echo "$p"; exit 0; fi; done; command -v sftp-server || exit 1`
	s, err := d.Exec(ctx, id, docker.ExecOptions{Command: script})
	if err != nil {
		return "", err
	}
	defer s.Close()
	_ = s.CloseStdin()
	var out bytes.Buffer
	_ = s.Output(&out, io.Discard)
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if code, err := s.Wait(wctx); err != nil || code != 0 {
		return "", errNoSFTP
	}
	path := strings.TrimSpace(out.String())
	if path == "" || strings.ContainsAny(path, " \t\n'\"$`;&|") {
		return "", errNoSFTP
	}
	return path, nil
}

// containerProc is a session inside a container.
type containerProc struct {
	s       *docker.ExecSession
	untrack func()
	once    sync.Once
}

func (c *containerProc) Stdin() io.Writer { return c.s.Stdin() }

func (c *containerProc) CloseStdin() {
	if !c.s.TTY() {
		_ = c.s.CloseStdin()
	}
}

func (c *containerProc) Output(stdout, stderr io.Writer) error { return c.s.Output(stdout, stderr) }

func (c *containerProc) Resize(cols, rows int) { _ = c.s.Resize(context.Background(), cols, rows) }

func (c *containerProc) Wait() int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	code, err := c.s.Wait(ctx)
	if err != nil {
		return -1
	}
	return code
}

func (c *containerProc) Close() {
	c.once.Do(func() {
		_ = c.s.Close()
		c.untrack()
	})
}

// hostProc is a session on the host: on a PTY, or on pipes.
type hostProc struct {
	t      *terminals
	id     string
	cmd    *exec.Cmd
	exited chan struct{}
	werr   error // set before exited closes

	ptmx       *os.File // a TTY session
	stdin      io.WriteCloser
	outR, errR *os.File
}

// startPipes starts the command on pipes, in its own session as
// servePipes does, so hangup reaches what it started.
func (p *hostProc) startPipes() error {
	stdin, err := p.cmd.StdinPipe()
	if err != nil {
		return err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return err
	}
	p.cmd.Stdout, p.cmd.Stderr = outW, errW
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = p.cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return fmt.Errorf("start command: %w", err)
	}
	p.stdin, p.outR, p.errR = stdin, outR, errR
	return nil
}

func (p *hostProc) Stdin() io.Writer {
	if p.ptmx != nil {
		return p.ptmx
	}
	return p.stdin
}

func (p *hostProc) CloseStdin() {
	if p.stdin != nil {
		_ = p.stdin.Close()
	}
}

// Output copies until the output's end, or until it has been quiet for
// pipeDrainGrace after the process exited (a background job holds it).
func (p *hostProc) Output(stdout, stderr io.Writer) error {
	if p.ptmx != nil {
		copied := make(chan struct{})
		go func() {
			defer close(copied)
			_, _ = io.Copy(stdout, p.ptmx)
		}()
		select {
		case <-copied:
		case <-p.exited:
			select {
			case <-copied:
			case <-time.After(pipeDrainGrace):
			}
		}
		_ = p.ptmx.Close()
		<-copied
		return nil
	}
	var wg sync.WaitGroup
	for _, c := range []struct {
		r *os.File
		w io.Writer
	}{{p.outR, stdout}, {p.errR, stderr}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.r.Close()
			buf := make([]byte, 32<<10)
			for {
				n, err := c.r.Read(buf)
				if n > 0 {
					if _, werr := c.w.Write(buf[:n]); werr != nil {
						return
					}
					select {
					case <-p.exited:
						_ = c.r.SetReadDeadline(time.Now().Add(pipeDrainGrace))
					default:
					}
				}
				if err != nil {
					return
				}
			}
		}()
	}
	go func() {
		<-p.exited
		for _, r := range []*os.File{p.outR, p.errR} {
			_ = r.SetReadDeadline(time.Now().Add(pipeDrainGrace))
		}
	}()
	wg.Wait()
	return nil
}

func (p *hostProc) Resize(cols, rows int) {
	if p.ptmx != nil && cols > 0 && rows > 0 && cols < 1<<16 && rows < 1<<16 {
		_ = pty.Setsize(p.ptmx, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)})
	}
}

func (p *hostProc) Wait() int {
	<-p.exited
	return exitCode(p.werr)
}

func (p *hostProc) Close() { hangup(p.cmd, p.exited) }
