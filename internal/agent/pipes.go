package agent

import (
	"log/slog"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/gpuaas/gpuaas/internal/agentproto"
)

// pipeDrainGrace is how long a pipe may stay silent after the command has
// exited before the session ends without waiting for its EOF: a
// background job that inherited stdout must not hold the session open,
// but output still buffered in the pipe is always sent.
const pipeDrainGrace = time.Second

// servePipes runs cmd (built by command, so the same user, environment and
// working directory as a PTY shell) on plain pipes, as `ssh host cmd` does
// without -t: stdout and stderr travel apart, in FrameData and FrameStderr,
// stdin comes in FrameData and ends with FrameStdinEOF, and the exit code
// is reported exactly as for a PTY.
func (t *terminals) servePipes(stream net.Conn, fw *agentproto.FrameWriter, h agentproto.TerminalHeader, cmd *exec.Cmd) {
	fail := func(err error) { sendError(fw, "start_failed", "start command: "+err.Error()) }
	stdin, err := cmd.StdinPipe() // closed by Wait once the command exits
	if err != nil {
		fail(err)
		return
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		fail(err)
		return
	}
	defer outR.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		outW.Close()
		fail(err)
		return
	}
	defer errR.Close()
	cmd.Stdout, cmd.Stderr = outW, errW
	// Its own session and process group, as with a PTY, so hangup reaches
	// everything the command started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	outW.Close() // the command holds its own copies now
	errW.Close()
	if err != nil {
		fail(err)
		return
	}
	exited := make(chan struct{})
	t.track(h.AllocationID, cmd, exited, true)
	defer t.track(h.AllocationID, cmd, exited, false)
	// Tell the server its NoPTY was honoured before any output.
	if err := fw.WriteFrame(agentproto.FramePipes, nil); err != nil {
		hangup(cmd, exited)
	}
	slog.Info("agent: terminal command started without a PTY", "allocation_id", h.AllocationID)

	// Stream → stdin. A closed stream hangs up; input after the command
	// stopped reading is dropped.
	go func() {
		in := stdin
		for {
			kind, payload, err := agentproto.ReadFrame(stream)
			if err != nil {
				hangup(cmd, exited)
				return
			}
			switch kind {
			case agentproto.FrameData:
				if in != nil {
					if _, err := in.Write(payload); err != nil {
						_ = in.Close()
						in = nil
					}
				}
			case agentproto.FrameStdinEOF:
				if in != nil {
					_ = in.Close()
					in = nil
				}
			}
		}
	}()

	// stdout and stderr → stream, one reader each so each keeps its order.
	var drained sync.WaitGroup
	pump := func(r *os.File, kind byte) {
		defer drained.Done()
		sendOutput(r, fw, kind, cmd, exited, func() {
			select {
			case <-exited: // still talking after the exit: give it more time
				_ = r.SetReadDeadline(time.Now().Add(pipeDrainGrace))
			default:
			}
		})
	}
	drained.Add(2)
	go pump(outR, agentproto.FrameData)
	go pump(errR, agentproto.FrameStderr)

	werr := cmd.Wait()
	close(exited)
	// Drain both pipes to their EOF, or until one has been silent for the
	// grace period (a background job holds it open).
	for _, r := range []*os.File{outR, errR} {
		if err := r.SetReadDeadline(time.Now().Add(pipeDrainGrace)); err != nil { // not pollable here
			time.AfterFunc(pipeDrainGrace, func() { _ = r.Close() })
		}
	}
	drained.Wait()
	code := sendExit(fw, werr)
	slog.Info("agent: terminal command ended", "allocation_id", h.AllocationID, "exit_code", code)
}
