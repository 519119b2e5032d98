package agent

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/agent/runtime/docker"
	"github.com/gpuaas/gpuaas/internal/agentproto"
)

// containerOf is the docker runtime when allocationID is a container it
// runs: that allocation's terminals and SSH sessions land inside it. It is
// nil, with no error, for an allocation the docker runtime does not hold
// (a process one); an error when it holds one that does not run, or the
// engine cannot say: such a session must not open on the host instead.
func (t *terminals) containerOf(ctx context.Context, allocationID string) (*docker.Runtime, error) {
	d, ok := dockerRuntime(t.rt)
	if !ok {
		return nil, nil
	}
	id, err := uuid.Parse(allocationID)
	if err != nil {
		return nil, nil
	}
	holds, err := d.Holds(ctx, id)
	if err != nil {
		slog.Warn("agent: look for the allocation's container", "allocation_id", allocationID, "err", err)
		return nil, err
	}
	if !holds {
		return nil, nil
	}
	return d, nil
}

// frameSink writes what it is given as terminal frames of one kind.
type frameSink struct {
	fw   *agentproto.FrameWriter
	kind byte
}

func (s frameSink) Write(p []byte) (int, error) {
	for off := 0; off < len(p); off += agentproto.MaxFrame {
		end := min(off+agentproto.MaxFrame, len(p))
		if err := s.fw.WriteFrame(s.kind, p[off:end]); err != nil {
			return off, err
		}
	}
	return len(p), nil
}

// serveContainerTerminal serves a terminal stream inside the allocation's
// container through the engine's exec API: a login shell (bash, else sh)
// or `sh -c Command`, on a TTY, or on pipes for NoPTY, with the same
// frames as a host shell.
func (t *terminals) serveContainerTerminal(stream net.Conn, fw *agentproto.FrameWriter, d *docker.Runtime, h agentproto.TerminalHeader) {
	id, _ := uuid.Parse(h.AllocationID)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := d.Exec(ctx, id, docker.ExecOptions{Command: h.Command, TTY: !h.NoPTY, Cols: h.Cols, Rows: h.Rows,
		Env: []string{"TERM=xterm-256color"}})
	if err != nil {
		sendError(fw, "start_failed", "start shell in the container: "+err.Error())
		return
	}
	defer s.Close()
	if h.NoPTY {
		if err := fw.WriteFrame(agentproto.FramePipes, nil); err != nil {
			return
		}
	}
	slog.Info("agent: container terminal session started", "allocation_id", h.AllocationID, "pty", !h.NoPTY)
	// Release ends the session with the container; a closed stream drops
	// the exec's connection.
	stop := t.trackFunc(h.AllocationID, func() { _ = s.Close() })
	defer stop()

	go func() {
		var closeOnce sync.Once
		for {
			kind, payload, err := agentproto.ReadFrame(stream)
			if err != nil {
				_ = s.Close()
				return
			}
			switch kind {
			case agentproto.FrameData:
				_, _ = s.Stdin().Write(payload)
			case agentproto.FrameResize:
				var sz agentproto.TerminalSize
				if json.Unmarshal(payload, &sz) == nil {
					if err := s.Resize(ctx, sz.Cols, sz.Rows); err != nil {
						slog.Debug("agent: resize container terminal", "err", err)
					}
				}
			case agentproto.FrameStdinEOF:
				closeOnce.Do(func() { _ = s.CloseStdin() })
			}
		}
	}()
	if err := s.Output(frameSink{fw, agentproto.FrameData}, frameSink{fw, agentproto.FrameStderr}); err != nil {
		slog.Debug("agent: container terminal output ended", "err", err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	code, err := s.Wait(wctx)
	wcancel()
	if err != nil {
		code = -1 // the connection was dropped, or the engine lost it
	}
	b, _ := json.Marshal(agentproto.TerminalExit{ExitCode: code})
	_ = fw.WriteFrame(agentproto.FrameExit, b)
	slog.Info("agent: container terminal session ended", "allocation_id", h.AllocationID, "exit_code", code)
}
