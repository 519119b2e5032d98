package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/agent/runtime/process"
	"github.com/gpuaas/gpuaas/internal/agentproto"
)

// terminals runs the PTY shells the server asks for on terminal streams
// and ends an allocation's shells when it is released.
type terminals struct {
	dataDir string
	rt      NodeRuntime

	mu   sync.Mutex
	live map[string]map[*exec.Cmd]chan struct{} // allocation id → shells and their exits
	// released holds allocations whose release ran on this node: a shell
	// that starts for one after that (its stream crossed the release) is
	// hung up as soon as it is tracked.
	released map[string]bool
	// closers end sessions that are not host processes (a shell inside a
	// container, an SSH connection) when their allocation is released.
	closers map[string]map[*closer]bool
	// ssh serves the SSH streams of the same allocations.
	ssh *sshd
}

// closer ends one session.
type closer struct{ f func() }

func newTerminals(cfg Config) *terminals {
	t := &terminals{dataDir: cfg.DataDir, rt: cfg.NodeRuntime,
		live: map[string]map[*exec.Cmd]chan struct{}{}, released: map[string]bool{},
		closers: map[string]map[*closer]bool{}}
	t.ssh = newSSHD(cfg, t)
	return t
}

// closeAllocation hangs up every shell of the allocation (after release).
func (t *terminals) closeAllocation(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.released[id] = true
	for cmd, exited := range t.live[id] {
		hangup(cmd, exited)
	}
	for c := range t.closers[id] {
		go c.f()
	}
}

// trackFunc has f called when allocation id is released (at once, when it
// already was) until the returned untrack is called.
func (t *terminals) trackFunc(id string, f func()) (untrack func()) {
	c := &closer{f: f}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.released[id] {
		go f()
		return func() {}
	}
	if t.closers[id] == nil {
		t.closers[id] = map[*closer]bool{}
	}
	t.closers[id][c] = true
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		delete(t.closers[id], c)
		if len(t.closers[id]) == 0 {
			delete(t.closers, id)
		}
	}
}

func (t *terminals) track(id string, cmd *exec.Cmd, exited chan struct{}, on bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if on {
		if t.released[id] {
			hangup(cmd, exited)
			return
		}
		if t.live[id] == nil {
			t.live[id] = map[*exec.Cmd]chan struct{}{}
		}
		t.live[id][cmd] = exited
		return
	}
	delete(t.live[id], cmd)
	if len(t.live[id]) == 0 {
		delete(t.live, id)
	}
}

// hangup ends the shell's session (its process group): SIGHUP, then
// SIGKILL a moment later unless the shell has exited (closed exited) by
// then.
func hangup(cmd *exec.Cmd, exited chan struct{}) {
	select {
	case <-exited:
		return
	default:
	}
	pid := cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGHUP)
	go func() {
		select {
		case <-exited:
		case <-time.After(2 * time.Second):
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
	}()
}

// command builds the shell for h. With the process runtime it runs as the
// allocation's Linux user through a login shell (which sources the pinned
// GPU env), in that user's home. Otherwise (sim) it runs as the agent's own
// OS user with CUDA_VISIBLE_DEVICES set to the allocation's GPUs, in the
// allocation's storage workspace ($WORKSPACE, see SimWorkspaces) when it
// has one, else in a per-allocation directory under the data dir.
func (t *terminals) command(h agentproto.TerminalHeader) (*exec.Cmd, error) {
	id, err := uuid.Parse(h.AllocationID)
	if err != nil {
		return nil, fmt.Errorf("terminal allocation id: %w", err)
	}
	w := process.Workload{AllocationID: id, GPUUUIDs: h.GPUUUIDs}
	env := append(process.Env(w), "TERM=xterm-256color")
	if p, ok := processRuntime(t.rt); ok {
		login := process.UsernameFor(id)
		args := []string{"-l", login}
		if h.Command != "" {
			args = append(args, "-c", h.Command)
		}
		cmd := exec.Command("runuser", args...)
		cmd.Dir = p.RT.Home(login)
		cmd.Env = append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, env...)
		return cmd, nil
	}
	dir := filepath.Join(t.dataDir, "terminals", id.String())
	if t.dataDir == "" {
		dir = filepath.Join(os.TempDir(), "gpuaas-terminals", id.String())
	}
	ws, err := simWorkspace(t.rt, id.String())
	if err != nil {
		return nil, fmt.Errorf("terminal workspace: %w", err)
	}
	if ws != "" {
		dir = ws
		env = append(env, "WORKSPACE="+ws)
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("terminal working directory: %w", err)
	}
	shell := "/bin/sh"
	if _, err := os.Stat("/bin/bash"); err == nil {
		shell = "/bin/bash"
	}
	var cmd *exec.Cmd
	switch {
	case h.Command != "":
		cmd = exec.Command(shell, "-c", h.Command)
	case h.NoPTY: // like `ssh -T host`: the shell reads commands from stdin
		cmd = exec.Command(shell)
	default:
		cmd = exec.Command(shell, "-i")
	}
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CUDA_VISIBLE_DEVICES=") && !strings.HasPrefix(kv, "NVIDIA_VISIBLE_DEVICES=") &&
			!strings.HasPrefix(kv, "TERM=") && !strings.HasPrefix(kv, "PWD=") && !strings.HasPrefix(kv, "WORKSPACE=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "PWD="+dir)
	return cmd, nil
}

// serveTerminal runs one PTY shell for the terminal stream whose header is
// raw, proxying frames until the shell exits or the stream closes. A header
// with NoPTY runs on pipes instead (servePipes).
func (t *terminals) serveTerminal(stream net.Conn, raw []byte) {
	defer stream.Close()
	fw := agentproto.NewFrameWriter(stream)
	fail := func(code, msg string) { sendError(fw, code, msg) }
	var h agentproto.TerminalHeader
	if err := json.Unmarshal(raw, &h); err != nil {
		fail("bad_request", "malformed terminal header")
		return
	}
	d, err := t.containerOf(context.Background(), h.AllocationID)
	if err != nil {
		fail("start_failed", err.Error())
		return
	}
	if d != nil {
		t.serveContainerTerminal(stream, fw, d, h)
		return
	}
	cmd, err := t.command(h)
	if err != nil {
		fail("start_failed", err.Error())
		return
	}
	if h.NoPTY {
		t.servePipes(stream, fw, h, cmd)
		return
	}
	size := &pty.Winsize{Cols: 80, Rows: 24}
	if h.Cols > 0 && h.Rows > 0 && h.Cols < 1<<16 && h.Rows < 1<<16 {
		size = &pty.Winsize{Cols: uint16(h.Cols), Rows: uint16(h.Rows)}
	}
	// An interactive simulated shell with a workspace says first what it
	// is and where the files are (a command's output stays its own).
	if h.Command == "" {
		if ws, err := simWorkspace(t.rt, h.AllocationID); err == nil && ws != "" {
			_ = fw.WriteFrame(agentproto.FrameData, []byte(SimTerminalBanner(ws)))
		}
	}
	ptmx, err := pty.StartWithSize(cmd, size)
	if err != nil {
		fail("start_failed", "start shell: "+err.Error())
		return
	}
	exited := make(chan struct{})
	t.track(h.AllocationID, cmd, exited, true)
	defer t.track(h.AllocationID, cmd, exited, false)
	slog.Info("agent: terminal session started", "allocation_id", h.AllocationID)

	// Stream → PTY: input bytes and resizes. A closed stream hangs up.
	go func() {
		for {
			kind, payload, err := agentproto.ReadFrame(stream)
			if err != nil {
				hangup(cmd, exited)
				return
			}
			switch kind {
			case agentproto.FrameData:
				if _, err := ptmx.Write(payload); err != nil {
					return
				}
			case agentproto.FrameResize:
				var sz agentproto.TerminalSize
				if json.Unmarshal(payload, &sz) == nil && sz.Cols > 0 && sz.Rows > 0 && sz.Cols < 1<<16 && sz.Rows < 1<<16 {
					_ = pty.Setsize(ptmx, &pty.Winsize{Cols: uint16(sz.Cols), Rows: uint16(sz.Rows)})
				}
			}
		}
	}()
	// PTY → stream until the shell's side closes (EIO on Linux).
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sendOutput(ptmx, fw, agentproto.FrameData, cmd, exited, nil)
	}()
	werr := cmd.Wait()
	close(exited)
	// Let the last output drain; a background job holding the PTY open
	// must not keep the session alive.
	select {
	case <-copied:
	case <-time.After(time.Second):
	}
	ptmx.Close()
	<-copied
	code := sendExit(fw, werr)
	slog.Info("agent: terminal session ended", "allocation_id", h.AllocationID, "exit_code", code)
}

// sendOutput sends what r yields, in frames of kind, until r ends; a
// failed send hangs the shell up. sent, when set, runs after each frame.
func sendOutput(r io.Reader, fw *agentproto.FrameWriter, kind byte, cmd *exec.Cmd, exited chan struct{}, sent func()) {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if werr := fw.WriteFrame(kind, buf[:n]); werr != nil {
				hangup(cmd, exited)
				return
			}
			if sent != nil {
				sent()
			}
		}
		if err != nil {
			return
		}
	}
}

// sendError sends a terminal error frame: the session did not start.
func sendError(fw *agentproto.FrameWriter, code, msg string) {
	b, _ := json.Marshal(agentproto.TerminalError{Code: code, Message: msg})
	_ = fw.WriteFrame(agentproto.FrameError, b)
}

// sendExit sends the shell's exit code (exitCode of werr), the stream's
// last frame, and returns it.
func sendExit(fw *agentproto.FrameWriter, werr error) int {
	code := exitCode(werr)
	b, _ := json.Marshal(agentproto.TerminalExit{ExitCode: code})
	_ = fw.WriteFrame(agentproto.FrameExit, b)
	return code
}

// exitCode is the shell's exit status as a terminal reports it: a signal
// is 128+n, as shells say; -1 when Wait failed for another reason.
func exitCode(werr error) int {
	if werr == nil {
		return 0
	}
	var ee *exec.ExitError
	if !errors.As(werr, &ee) {
		return -1
	}
	code := ee.ExitCode()
	if code < 0 { // killed by a signal
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
	}
	return code
}
