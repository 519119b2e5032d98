package gpu_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gpuaas/gpuaas/internal/gpu"
)

// These tests run NvidiaSMI against small shell scripts standing in for
// nvidia-smi: the real binary is not on a CI runner, and the scripts either
// print a real capture or fail the way a real host without driver does.

// script writes an executable shell script named nvidia-smi into a fresh
// directory and returns its path.
func script(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "nvidia-smi")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// catFixture is an nvidia-smi that prints a real capture for `-q -x` and
// refuses any other arguments, so the test also checks what is asked.
func catFixture(t *testing.T, name string) string {
	t.Helper()
	abs, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return script(t, `[ "$*" = "-q -x" ] || { echo "unexpected args: $*" >&2; exit 3; }
exec cat '`+abs+`'`)
}

func kernelLog(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kern.log")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func discover(t *testing.T, d gpu.Discoverer) gpu.Inventory {
	t.Helper()
	inv, err := d.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func TestNvidiaSMIRunsTheBinary(t *testing.T) {
	inv := discover(t, gpu.NvidiaSMI{Path: catFixture(t, "h200-busy.xml"), KernelLog: kernelLog(t, "")})
	if inv.Note != "" || inv.DriverVersion != "580.159.04" || len(inv.GPUs) != 1 {
		t.Fatalf("%+v", inv)
	}
	d := inv.GPUs[0]
	if d.UUID != "GPU-18603c05-a9b7-355d-18ab-95b90ded7b0b" || d.Name != "NVIDIA H200" ||
		d.UtilizationGPUPercent != 100 || d.Health != gpu.Healthy {
		t.Errorf("%+v", d)
	}
}

func TestNvidiaSMIMissingBinaryIsNoGPUsWithANote(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("PATH", empty) // a host without the driver: nothing on PATH
	cases := map[string]struct{ path, note string }{
		"on PATH":  {"", "no NVIDIA driver found: nvidia-smi not on PATH"},
		"explicit": {filepath.Join(empty, "nvidia-smi"), "no NVIDIA driver found: " + filepath.Join(empty, "nvidia-smi") + " does not exist"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			inv := discover(t, gpu.NvidiaSMI{Path: c.path})
			if inv.Note != c.note || inv.GPUs == nil || len(inv.GPUs) != 0 {
				t.Errorf("%+v", inv)
			}
		})
	}
}

const driverError = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. " +
	"Make sure that the latest NVIDIA driver is installed and running."

func TestNvidiaSMIDriverNotLoadedIsNoGPUsWithANote(t *testing.T) {
	inv := discover(t, gpu.NvidiaSMI{Path: script(t, "cat <<'EOF'\n"+driverError+"\nEOF\nexit 9")})
	if len(inv.GPUs) != 0 || !strings.Contains(inv.Note, driverError) || !strings.Contains(inv.Note, "exit status 9") {
		t.Errorf("%+v", inv)
	}
}

func TestNvidiaSMIHangIsNoGPUsWithANote(t *testing.T) {
	inv := discover(t, gpu.NvidiaSMI{Path: script(t, "exec sleep 30"), Timeout: 200 * time.Millisecond})
	if len(inv.GPUs) != 0 || !strings.Contains(inv.Note, "did not answer within 200ms") {
		t.Errorf("%+v", inv)
	}
}

func TestNvidiaSMIGarbageIsAnError(t *testing.T) {
	_, err := gpu.NvidiaSMI{Path: script(t, "echo 'not xml'")}.Discover(context.Background())
	if err == nil {
		t.Fatal("garbage parsed")
	}
}

func TestNvidiaSMICancelledContextIsAnError(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := gpu.NvidiaSMI{Path: catFixture(t, "h200-idle.xml")}.Discover(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

// A fatal Xid logged for the GPU's PCI address makes it unhealthy; the
// log's form of the address ("PCI:0000:00:06") differs from nvidia-smi's.
func TestNvidiaSMIFatalXidFromKernelLog(t *testing.T) {
	log := kernelLog(t, "[ 5321.002345] NVRM: Xid (PCI:0000:00:06): 79, pid=0, name=python3, GPU has fallen off the bus.\n"+
		"[ 5321.002400] NVRM: Xid (PCI:0000:3b:00): 48, pid=0, name=python3, another GPU.\n")
	d := discover(t, gpu.NvidiaSMI{Path: catFixture(t, "h200-idle.xml"), KernelLog: log}).GPUs[0]
	if d.Health != gpu.Unhealthy || !reflect.DeepEqual(d.HealthReasons, []string{"Xid 79: GPU has fallen off the bus"}) ||
		!reflect.DeepEqual(d.Xids, []int{79}) {
		t.Errorf("%+v", d)
	}
}

func TestNvidiaSMIUnreadableKernelLogIsANote(t *testing.T) {
	inv := discover(t, gpu.NvidiaSMI{Path: catFixture(t, "h200-idle.xml"), KernelLog: filepath.Join(t.TempDir(), "none")})
	if len(inv.GPUs) != 1 || inv.GPUs[0].Health != gpu.Healthy || !strings.HasPrefix(inv.Note, "Xid events not checked: ") {
		t.Errorf("%+v", inv)
	}
}

// With no KernelLog, Xids come from dmesg, through the same Run hook.
func TestNvidiaSMIReadsDmesgByDefault(t *testing.T) {
	real := fixture(t, "h200-idle.xml")
	var calls []string
	run := func(_ context.Context, path string, args ...string) ([]byte, error) {
		calls = append(calls, strings.Join(append([]string{path}, args...), " "))
		if path == "dmesg" {
			return []byte("[ 1.0] NVRM: Xid (PCI:0000:00:06): 95, pid=1, Uncontained ECC error.\n"), nil
		}
		return real, nil
	}
	d := discover(t, gpu.NvidiaSMI{Run: run}).GPUs[0]
	if !reflect.DeepEqual(calls, []string{"nvidia-smi -q -x", "dmesg"}) {
		t.Errorf("calls %q", calls)
	}
	if d.Health != gpu.Unhealthy || !reflect.DeepEqual(d.HealthReasons, []string{"Xid 95: uncontained ECC error"}) {
		t.Errorf("%+v", d)
	}
}

// dmesg refused (an unprivileged agent): the note says so and says what was
// tried; discovery itself succeeds.
func TestNvidiaSMIDmesgRefused(t *testing.T) {
	real := fixture(t, "h200-idle.xml")
	run := func(_ context.Context, path string, _ ...string) ([]byte, error) {
		if path == "dmesg" {
			return nil, errors.New("exit status 1: dmesg: read kernel buffer failed: Operation not permitted")
		}
		return real, nil
	}
	inv := discover(t, gpu.NvidiaSMI{Run: run, KernelLog: "/dev/kmsg"})
	if len(inv.GPUs) != 1 || inv.Note != "Xid events not checked: dmesg: exit status 1: dmesg: read kernel buffer failed: Operation not permitted" {
		t.Errorf("%+v", inv)
	}
}
