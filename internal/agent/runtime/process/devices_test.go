package process_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/agent/runtime/process"
)

// gpuHost is a stand-in for a host's GPUs: a device directory with the
// char devices 195:0..n-1 as nvidia0..n-1, mode 0666 as udev makes them,
// and a runtime that guards them.
type gpuHost struct {
	dir   string
	uuids []string
	rt    *process.Runtime
}

func newGPUHost(t *testing.T, n int) *gpuHost {
	t.Helper()
	requireRoot(t)
	dir, err := os.MkdirTemp("", "gpuaas-dev-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// The allocation users must reach the nodes to be refused by them.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	h := &gpuHost{dir: dir}
	minors := map[string]int{}
	for i := range n {
		u := "GPU-" + uuid.NewString()
		h.uuids = append(h.uuids, u)
		minors[u] = i
		mknod(t, h.node(i), 195, i)
	}
	h.rt = &process.Runtime{DeviceDir: dir, GPUMinors: func(context.Context) (map[string]int, error) { return minors, nil }}
	return h
}

func (h *gpuHost) node(i int) string { return filepath.Join(h.dir, "nvidia"+strconv.Itoa(i)) }

func (h *gpuHost) workload(t *testing.T, gpus ...int) process.Workload {
	w := newWorkload(t)
	w.GPUUUIDs = nil
	for _, i := range gpus {
		w.GPUUUIDs = append(w.GPUUUIDs, h.uuids[i])
	}
	return w
}

func mknod(t *testing.T, path string, major, minor int) {
	t.Helper()
	dev := major<<8 | minor // the old encoding, exact for these small numbers
	if err := syscall.Mknod(path, syscall.S_IFCHR|0o666, dev); err != nil {
		t.Fatalf("mknod %s: %v", path, err)
	}
	if err := os.Chmod(path, 0o666); err != nil { // past the umask
		t.Fatal(err)
	}
}

// canOpen says whether user may open path for reading. A stand-in node
// has no driver behind it, so an allowed open fails with ENXIO ("No such
// device or address"); only EACCES means the user was kept out.
func canOpen(t *testing.T, user, path string) bool {
	t.Helper()
	out, _ := exec.Command("runuser", "-u", user, "--", "sh", "-c", `exec 3<"$1"`, "sh", path).CombinedOutput()
	s := string(out)
	switch {
	case strings.Contains(s, "Permission denied"):
		return false
	case s == "", strings.Contains(s, "No such device"):
		return true
	}
	t.Fatalf("open %s as %s: %s", path, user, s)
	return false
}

func lookupGID(t *testing.T, name string) int {
	t.Helper()
	gid, err := strconv.Atoi(run(t, "id", "-g", name))
	if err != nil {
		t.Fatal(err)
	}
	return gid
}

func checkNode(t *testing.T, path string, gid int, mode os.FileMode) {
	t.Helper()
	checkOwnerMode(t, path, 0, mode)
	info, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := int(info.Sys().(*syscall.Stat_t).Gid); got != gid {
		t.Errorf("%s: group %d, want %d", path, got, gid)
	}
}

// checkAccess checks which of the host's nodes user can open.
func (h *gpuHost) checkAccess(t *testing.T, user string, want map[int]bool) {
	t.Helper()
	for i := range h.uuids {
		if got := canOpen(t, user, h.node(i)); got != want[i] {
			t.Errorf("%s opens nvidia%d: %v, want %v", user, i, got, want[i])
		}
	}
}

// Two allocations on one host each reach their own GPUs' device nodes and
// no other; a GPU held by no one is open to no one; Release locks the
// released GPUs again and leaves the other allocation's alone.
func TestAllocationOpensOnlyItsOwnGPUs(t *testing.T) {
	h := newGPUHost(t, 4)
	a, b := h.workload(t, 0), h.workload(t, 1, 2)
	provision(t, h.rt, a)
	provision(t, h.rt, b)
	provision(t, h.rt, b) // idempotent

	h.checkAccess(t, login(a), map[int]bool{0: true})
	h.checkAccess(t, login(b), map[int]bool{1: true, 2: true})
	checkNode(t, h.node(0), lookupGID(t, login(a)), 0o660)
	checkNode(t, h.node(1), lookupGID(t, login(b)), 0o660)
	checkNode(t, h.node(3), 0, 0o600)

	if err := h.rt.Release(context.Background(), a); err != nil {
		t.Fatalf("release: %v", err)
	}
	checkNode(t, h.node(0), 0, 0o600)
	h.checkAccess(t, login(b), map[int]bool{1: true, 2: true})
	// A late retry of a's Release, after its GPU went to b, takes nothing.
	c := h.workload(t, 0)
	provision(t, h.rt, c)
	if err := h.rt.Release(context.Background(), a); err != nil {
		t.Fatalf("release again: %v", err)
	}
	h.checkAccess(t, login(c), map[int]bool{0: true})
}

// A driver reload makes the nodes 0666 again (udev); the agent's start-up
// sweep locks every node except those that running allocations hold,
// which it knows from the nodes' groups alone.
func TestLockIdleGPUsKeepsHeldNodes(t *testing.T) {
	h := newGPUHost(t, 3)
	a := h.workload(t, 1)
	provision(t, h.rt, a)
	for i := range 3 {
		if err := os.Chmod(h.node(i), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.rt.LockIdleGPUs(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkNode(t, h.node(0), 0, 0o600)
	checkNode(t, h.node(1), lookupGID(t, login(a)), 0o660)
	checkNode(t, h.node(2), 0, 0o600)
	h.checkAccess(t, login(a), map[int]bool{1: true})
}

// Nothing in the device directory is chowned or chmodded unless it is the
// character device 195:N named nvidiaN: not a symlink (whose target
// could be anything), a regular file, another driver's device or a node
// whose minor does not match its name.
func TestOnlyGPUNodesAreChanged(t *testing.T) {
	h := newGPUHost(t, 0)
	target := filepath.Join(h.dir, "target")
	if err := os.WriteFile(target, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, h.node(0)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.node(1), nil, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(h.node(1), 0o666); err != nil {
		t.Fatal(err)
	}
	mknod(t, h.node(2), 1, 3) // /dev/null's numbers
	mknod(t, h.node(3), 195, 7)
	minors := map[string]int{}
	for i := range 4 {
		u := "GPU-" + uuid.NewString()
		h.uuids = append(h.uuids, u)
		minors[u] = i
	}
	h.rt.GPUMinors = func(context.Context) (map[string]int, error) { return minors, nil }

	if err := h.rt.LockIdleGPUs(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		w := h.workload(t, i)
		t.Cleanup(func() { cleanupUser(t, h.rt, w) })
		if err := h.rt.Provision(context.Background(), w); err == nil {
			t.Errorf("nvidia%d: provision succeeded, want a refusal", i)
		}
		if err := h.rt.Release(context.Background(), w); err != nil {
			t.Errorf("nvidia%d: release: %v", i, err)
		}
	}
	checkOwnerMode(t, target, 0, 0o644)
	for i := 1; i < 4; i++ {
		checkNode(t, h.node(i), 0, 0o666)
	}
}

// A GPU the host does not have (a MIG device, a stale uuid) is refused:
// the user would not reach it.
func TestProvisionRefusesUnknownGPU(t *testing.T) {
	h := newGPUHost(t, 1)
	w := h.workload(t)
	w.GPUUUIDs = []string{"MIG-" + uuid.NewString()}
	t.Cleanup(func() { cleanupUser(t, h.rt, w) })
	if err := h.rt.Provision(context.Background(), w); !errors.Is(err, process.ErrInvalid) {
		t.Fatalf("provision: %v, want ErrInvalid", err)
	}
	checkNode(t, h.node(0), 0, 0o600)
}
