package agentproto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// TerminalHeader is the first line the server sends on a stream it opens
// for a terminal session (instead of a Task). After it, both sides speak
// terminal frames (WriteFrame / ReadFrame).
type TerminalHeader struct {
	Type         string   `json:"type"` // "terminal"
	AllocationID string   `json:"allocation_id"`
	GPUUUIDs     []string `json:"gpu_uuids"`
	Cols         int      `json:"cols,omitempty"`
	Rows         int      `json:"rows,omitempty"`
	// Command, when set, runs as `SHELL -c Command` instead of an
	// interactive shell (the allocation user's login shell, or bash/sh in sim).
	Command string `json:"command,omitempty"`
	// NoPTY asks for the command (or a non-interactive shell) on plain
	// pipes instead of a PTY, like `ssh host cmd`: stdout goes in FrameData,
	// stderr in FrameStderr, and FrameStdinEOF closes its stdin. An agent
	// that honours it says so with FramePipes before any other frame; an
	// older agent ignores the field and starts a PTY as before.
	NoPTY bool `json:"no_pty,omitempty"`
}

// Terminal frame kinds on a terminal stream. Each frame is one kind byte,
// a 4-byte big-endian payload length, then the payload.
const (
	FrameData   byte = 0 // raw terminal bytes, both ways
	FrameResize byte = 1 // server → agent: JSON TerminalSize
	FrameExit   byte = 2 // agent → server: JSON TerminalExit; the last frame
	FrameError  byte = 3 // agent → server: JSON TerminalError; the last frame

	// No-PTY sessions (TerminalHeader.NoPTY) only. FrameData carries stdin
	// (server → agent) and stdout (agent → server) there.
	FrameStderr   byte = 4 // agent → server: the command's stderr bytes
	FrameStdinEOF byte = 5 // server → agent: close the command's stdin; no payload
	FramePipes    byte = 6 // agent → server: the command runs on pipes, not a PTY; the first frame, no payload
)

// MaxFrame bounds one terminal frame's payload.
const MaxFrame = 1 << 20

// TerminalSize is a resize request.
type TerminalSize struct {
	Cols int `json:"cols"`
	Rows int `json:"rows"`
}

// TerminalExit reports how the shell ended.
type TerminalExit struct {
	ExitCode int `json:"exit_code"`
}

// TerminalError reports why the agent could not start a shell.
type TerminalError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// FrameWriter writes terminal frames; it is safe for concurrent use.
type FrameWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// NewFrameWriter writes frames to w.
func NewFrameWriter(w io.Writer) *FrameWriter { return &FrameWriter{w: w} }

// WriteFrame writes one frame.
func (f *FrameWriter) WriteFrame(kind byte, payload []byte) error {
	if len(payload) > MaxFrame {
		return fmt.Errorf("terminal frame of %d bytes is over the limit", len(payload))
	}
	buf := make([]byte, 5+len(payload))
	buf[0] = kind
	binary.BigEndian.PutUint32(buf[1:5], uint32(len(payload)))
	copy(buf[5:], payload)
	f.mu.Lock()
	defer f.mu.Unlock()
	_, err := f.w.Write(buf)
	return err
}

// ReadFrame reads one frame from r.
func ReadFrame(r io.Reader) (byte, []byte, error) {
	var head [5]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(head[1:5])
	if n > MaxFrame {
		return 0, nil, errors.New("terminal frame over the limit")
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, err
	}
	return head[0], payload, nil
}

// ReadLine reads one newline-terminated line a byte at a time, so nothing
// after it is buffered away (the header line precedes raw frames).
func ReadLine(r io.Reader) ([]byte, error) {
	var line []byte
	b := make([]byte, 1)
	for len(line) < MaxMessage {
		n, err := r.Read(b)
		if n == 1 {
			if b[0] == '\n' {
				return line, nil
			}
			line = append(line, b[0])
		}
		if err != nil {
			return nil, err
		}
	}
	return nil, errors.New("agent protocol: line over the limit")
}
