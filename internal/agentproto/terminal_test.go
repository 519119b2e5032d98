package agentproto_test

import (
	"bytes"
	"io"
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
