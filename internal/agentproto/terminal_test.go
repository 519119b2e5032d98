package agentproto_test

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/gpuaas/gpuaas/internal/agentproto"
)

func TestTerminalFramesRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	buf.WriteString(`{"type":"terminal","allocation_id":"x"}` + "\n")
	fw := agentproto.NewFrameWriter(&buf)
	if err := fw.WriteFrame(agentproto.FrameData, []byte("hi\n")); err != nil {
		t.Fatal(err)
	}
	if err := fw.WriteFrame(agentproto.FrameExit, []byte(`{"exit_code":3}`)); err != nil {
		t.Fatal(err)
	}
	line, err := agentproto.ReadLine(&buf)
	if err != nil || string(line) != `{"type":"terminal","allocation_id":"x"}` {
		t.Fatalf("header %q %v", line, err)
	}
	for _, want := range []struct {
		kind byte
		p    string
	}{{agentproto.FrameData, "hi\n"}, {agentproto.FrameExit, `{"exit_code":3}`}} {
		k, p, err := agentproto.ReadFrame(&buf)
		if err != nil || k != want.kind || string(p) != want.p {
			t.Fatalf("frame %d %q %v, want %d %q", k, p, err, want.kind, want.p)
		}
	}
	if _, _, err := agentproto.ReadFrame(&buf); err != io.EOF {
		t.Fatalf("after the last frame: %v", err)
	}
	if err := fw.WriteFrame(agentproto.FrameData, make([]byte, agentproto.MaxFrame+1)); err == nil {
		t.Fatal("oversized frame written")
	}
}

// TestNoPTYFramesRoundTrip: the no-PTY frames (FramePipes, FrameStderr,
// FrameStdinEOF) travel like the others, empty payloads included, and the
// header's no_pty is absent unless set, so a PTY header is what it was
// before the field existed.
func TestNoPTYFramesRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	fw := agentproto.NewFrameWriter(&buf)
	frames := []struct {
		kind byte
		p    string
	}{
		{agentproto.FramePipes, ""},
		{agentproto.FrameData, "out\n"},
		{agentproto.FrameStderr, "err\n"},
		{agentproto.FrameStdinEOF, ""},
		{agentproto.FrameExit, `{"exit_code":4}`},
	}
	for _, f := range frames {
		if err := fw.WriteFrame(f.kind, []byte(f.p)); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range frames {
		k, p, err := agentproto.ReadFrame(&buf)
		if err != nil || k != want.kind || string(p) != want.p {
			t.Fatalf("frame %d %q %v, want %d %q", k, p, err, want.kind, want.p)
		}
	}
	kinds := map[byte]bool{}
	for _, k := range []byte{agentproto.FrameData, agentproto.FrameResize, agentproto.FrameExit, agentproto.FrameError,
		agentproto.FrameStderr, agentproto.FrameStdinEOF, agentproto.FramePipes} {
		if kinds[k] {
			t.Fatalf("frame kind %d used twice", k)
		}
		kinds[k] = true
	}

	h := agentproto.TerminalHeader{Type: "terminal", AllocationID: "x", GPUUUIDs: []string{}, Command: "true"}
	b, _ := json.Marshal(h)
	if want := `{"type":"terminal","allocation_id":"x","gpu_uuids":[],"command":"true"}`; string(b) != want {
		t.Errorf("PTY header %s, want %s", b, want)
	}
	h.NoPTY = true
	b, _ = json.Marshal(h)
	var back agentproto.TerminalHeader
	if err := json.Unmarshal(b, &back); err != nil || !back.NoPTY || !strings.Contains(string(b), `"no_pty":true`) {
		t.Errorf("no-PTY header %s decoded as %+v (%v)", b, back, err)
	}
}
