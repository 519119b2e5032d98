package gpu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"time"
)

// DefaultTimeout bounds one nvidia-smi or dmesg run. nvidia-smi answers in
// well under a second on a healthy host; one that hangs usually means a GPU
// or the driver is stuck, and the agent must keep reporting meanwhile.
const DefaultTimeout = 10 * time.Second

// DefaultKernelLogFile is read for Xids when dmesg cannot be run or read.
const DefaultKernelLogFile = "/var/log/kern.log"

// NvidiaSMI discovers GPUs by running `nvidia-smi -q -x`, and reads Xids
// from the kernel log. The zero value uses nvidia-smi from PATH and dmesg.
type NvidiaSMI struct {
	// Path is the nvidia-smi binary; empty means "nvidia-smi" on PATH.
	Path string
	// KernelLog is a file to read Xid lines from. Empty means run dmesg
	// (the current boot's kernel ring buffer) and fall back to
	// DefaultKernelLogFile. "/dev/kmsg" also means dmesg: reading the
	// device itself blocks waiting for new records instead of ending.
	KernelLog string
	// Run runs a command and returns its standard output. Nil means
	// RunCommand; tests replace it to count or fake calls.
	Run func(ctx context.Context, path string, args ...string) ([]byte, error)
	// Timeout bounds each command; zero means DefaultTimeout.
	Timeout time.Duration
}

var _ Discoverer = NvidiaSMI{}

// RunCommand runs path with args and returns its standard output. A command
// that exits non-zero gives an error that holds what it printed (nvidia-smi
// prints its own failures to stdout), trimmed, after the exit status.
func RunCommand(ctx context.Context, path string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, path, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// A killed command's children may hold the pipes open; do not wait on
	// them for ever.
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stdout.String() + "\n" + stderr.String())
		if msg == "" {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %s", err, msg)
	}
	return stdout.Bytes(), nil
}

// Discover runs nvidia-smi and judges every GPU's health, Xids included
// when the kernel log is readable. A missing or failing nvidia-smi gives an
// Inventory with no GPUs and a Note, not an error; the error is for output
// that cannot be parsed and for ctx ending.
func (n NvidiaSMI) Discover(ctx context.Context) (Inventory, error) {
	path := n.Path
	if path == "" {
		path = "nvidia-smi"
	}
	runCtx, cancel := context.WithTimeout(ctx, n.timeout())
	out, err := n.run()(runCtx, path, "-q", "-x")
	timedOut := errors.Is(runCtx.Err(), context.DeadlineExceeded)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return Inventory{}, fmt.Errorf("run nvidia-smi: %w", ctx.Err())
		}
		return Inventory{GPUs: []Device{}, Note: failureNote(path, err, timedOut, n.timeout())}, nil
	}
	inv, err := ParseXML(bytes.NewReader(out))
	if err != nil {
		return Inventory{}, fmt.Errorf("%s -q -x: %w", path, err)
	}
	if len(inv.GPUs) == 0 {
		return inv, nil // no GPU to pin Xids on
	}
	xids, note := n.readXids(ctx)
	Assess(&inv, xids)
	inv.Note = joinNotes(inv.Note, note)
	return inv, nil
}

func (n NvidiaSMI) run() func(ctx context.Context, path string, args ...string) ([]byte, error) {
	if n.Run != nil {
		return n.Run
	}
	return RunCommand
}

func (n NvidiaSMI) timeout() time.Duration {
	if n.Timeout > 0 {
		return n.Timeout
	}
	return DefaultTimeout
}

// failureNote says why nvidia-smi gave no inventory, in words an operator
// can act on.
func failureNote(path string, err error, timedOut bool, timeout time.Duration) string {
	switch {
	case errors.Is(err, exec.ErrNotFound):
		return fmt.Sprintf("no NVIDIA driver found: %s not on PATH", path)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("no NVIDIA driver found: %s does not exist", path)
	case timedOut:
		return fmt.Sprintf("nvidia-smi did not answer within %s: the driver or a GPU may be hung", timeout)
	}
	// err reads "exit status 9: NVIDIA-SMI has failed because it couldn't
	// communicate with the NVIDIA driver. ..."; keep it whole.
	return fmt.Sprintf("nvidia-smi failed: %v", err)
}

// readXids returns the Xids of the kernel log, or nil and a note when no
// log could be read. Not being able to read it (dmesg needs root on most
// distributions) only means the Xid rule is not applied; discovery goes on.
func (n NvidiaSMI) readXids(ctx context.Context) (map[string][]int, string) {
	if n.KernelLog != "" && n.KernelLog != "/dev/kmsg" {
		data, err := os.ReadFile(n.KernelLog)
		if err != nil {
			return nil, fmt.Sprintf("Xid events not checked: %v", err)
		}
		return ParseXids(bytes.NewReader(data)), ""
	}
	runCtx, cancel := context.WithTimeout(ctx, n.timeout())
	defer cancel()
	out, dmesgErr := n.run()(runCtx, "dmesg")
	if dmesgErr == nil {
		return ParseXids(bytes.NewReader(out)), ""
	}
	if n.KernelLog == "" {
		data, err := os.ReadFile(DefaultKernelLogFile)
		if err == nil {
			return ParseXids(bytes.NewReader(data)), ""
		}
		return nil, fmt.Sprintf("Xid events not checked: dmesg: %s; %v", firstLine(dmesgErr), err)
	}
	return nil, fmt.Sprintf("Xid events not checked: dmesg: %s", firstLine(dmesgErr))
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

func joinNotes(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}
