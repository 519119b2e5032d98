package gpu_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gpuaas/gpuaas/internal/gpu"
)

// No real kernel log with Xids was captured (the busy H200 host had none),
// so this log is derived from the line format the NVIDIA driver prints,
// "NVRM: Xid (PCI:<domain>:<bus>:<device>): <code>, pid=..., <text>", with
// the prefixes dmesg and syslog add, an old driver's address without "PCI:",
// and lines that mention NVRM but are not Xids.
const sampleKernelLog = `[    0.000000] Linux version 6.8.0-49-generic (buildd@lcy02-amd64-103) (x86_64-linux-gnu-gcc-13) #49-Ubuntu SMP
[    4.102030] nvidia: loading out-of-tree module taints kernel.
[    5.223344] NVRM: loading NVIDIA UNIX x86_64 Kernel Module  580.159.04
[ 1234.567890] NVRM: Xid (PCI:0000:3b:00): 13, pid=4242, name=python3, Graphics SM Warp Exception on (GPC 0, TPC 1, SM 0): Out Of Range Address
[ 1240.000001] NVRM: Xid (PCI:0000:3b:00): 79, pid=0, name=python3, GPU has fallen off the bus.
[ 1240.000100] NVRM: GPU 0000:3b:00.0: GPU has fallen off the bus.
[ 1250.100000] NVRM: Xid (PCI:0000:86:00): 48, pid='<unknown>', name=<unknown>, An uncorrectable double bit error (DBE) has been detected on GPU in the framebuffer at partition 0, subpartition 0.
Nov 27 06:12:34 gpu-01 kernel: [ 1300.000000] NVRM: Xid (0000:AF:00): 94, pid=777, name=train, Contained: SM (0x1). RST: No, D-RST: No
Nov 27 06:12:35 gpu-01 kernel: NVRM: Xid (PCI:0000:86:00): 48, pid=0, name=<unknown>, again
`

func TestParseXids(t *testing.T) {
	got := gpu.ParseXids(strings.NewReader(sampleKernelLog))
	want := map[string][]int{
		"0000:3b:00": {13, 79},
		"0000:86:00": {48, 48},
		"0000:af:00": {94},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// A kern.log spanning a reboot: only Xids after the last boot banner count.
func TestParseXidsForgetsEarlierBoots(t *testing.T) {
	log := sampleKernelLog + "Nov 28 01:00:00 gpu-01 kernel: [    0.000000] Linux version 6.8.0-49-generic (buildd@lcy02)\n" +
		"Nov 28 01:05:00 gpu-01 kernel: [  300.000000] NVRM: Xid (PCI:0000:3b:00): 31, pid=9, name=a.out, MMU Fault\n"
	got := gpu.ParseXids(strings.NewReader(log))
	if want := map[string][]int{"0000:3b:00": {31}}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestShortBusIDMatchesNvidiaSMIAndKernelForms(t *testing.T) {
	for in, want := range map[string]string{
		"00000000:3B:00.0": "0000:3b:00",
		"PCI:0000:3b:00":   "0000:3b:00",
		"0000:3B:00.0":     "0000:3b:00",
		"00000001:AF:00.0": "0001:af:00",
		"3b:00":            "0000:3b:00",
		"weird":            "weird",
	} {
		if got := gpu.ShortBusID(in); got != want {
			t.Errorf("%q -> %q, want %q", in, got, want)
		}
	}
}

// Non-fatal Xids (13: a user's program faulted) are reported but leave the
// GPU healthy; a fatal one in an 8-GPU derived document marks only its GPU.
func TestAssessXidsPerGPU(t *testing.T) {
	inv := parse(t, multiGPU(t, fixture(t, "h200-idle.xml"), 8, nil))
	// derivedBus(2) is 00000000:38:00.0, derivedBus(3) 00000000:48:00.0.
	gpu.Assess(&inv, gpu.ParseXids(strings.NewReader(
		"[ 1.0] NVRM: Xid (PCI:0000:38:00): 13, pid=1, name=x, Graphics Exception\n"+
			"[ 2.0] NVRM: Xid (PCI:0000:48:00): 119, pid=1, name=x, Timeout waiting for RPC from GSP!\n"+
			"[ 3.0] NVRM: Xid (PCI:0000:48:00): 119, pid=1, name=x, Timeout waiting for RPC from GSP!\n")))
	for i, d := range inv.GPUs {
		switch i {
		case 2:
			if d.Health != gpu.Healthy || !reflect.DeepEqual(d.Xids, []int{13}) {
				t.Errorf("gpu 2: %+v", d)
			}
		case 3:
			if d.Health != gpu.Unhealthy || !reflect.DeepEqual(d.HealthReasons, []string{"Xid 119: GSP RPC timeout"}) {
				t.Errorf("gpu 3: %+v", d)
			}
		default:
			if d.Health != gpu.Healthy || len(d.Xids) != 0 {
				t.Errorf("gpu %d: %+v", i, d)
			}
		}
	}
}
