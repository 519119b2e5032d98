package process

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// nvidiaMajor is the character-device major of the NVIDIA driver's nodes:
// /dev/nvidiaN is 195:N, /dev/nvidiactl 195:255.
const nvidiaMajor = 195

// Modes of a GPU's device node.
const (
	heldMode   = 0o660 // root:<the allocation's group>
	lockedMode = 0o600 // root:root, held by no allocation
)

// nodeNameRE matches the per-GPU nodes; the shared control nodes
// (nvidiactl, nvidia-uvm, nvidia-modeset, nvidia-caps/) are left alone.
var nodeNameRE = regexp.MustCompile(`^nvidia([0-9]+)$`)

// driverParams is where the loaded driver lists its module parameters.
const driverParams = "/proc/driver/nvidia/params"

// devMu serialises this process's changes to GPU device nodes, so that a
// sweep cannot lock a node on a stale reading while a Provision grants it.
var devMu sync.Mutex

// errNotGPUNode is a file in DeviceDir that is not an NVIDIA GPU's
// character device: it is never chowned or chmodded.
var errNotGPUNode = errors.New("not an NVIDIA GPU device node")

func (r *Runtime) deviceDir() string {
	if r.DeviceDir != "" {
		return r.DeviceDir
	}
	return "/dev"
}

// isolating says whether this runtime guards the GPUs' device nodes.
func (r *Runtime) isolating() bool { return r.GPUMinors != nil }

// nodePath is the device node of the GPU with the given minor.
func (r *Runtime) nodePath(minor int) string {
	return filepath.Join(r.deviceDir(), "nvidia"+strconv.Itoa(minor))
}

// minorsOf maps w's GPUs to their device minors. A uuid that is not among
// the host's GPUs (a MIG device, a GPU gone from the host) is an error when
// strict, and skipped with a warning otherwise (Release must not fail over
// it). A GPU without a device node (minor -1) has nothing to guard.
func (r *Runtime) minorsOf(ctx context.Context, w Workload, strict bool) ([]int, error) {
	if len(w.GPUUUIDs) == 0 {
		return nil, nil
	}
	known, err := r.GPUMinors(ctx)
	if err != nil {
		return nil, fmt.Errorf("list this host's GPUs: %w", err)
	}
	var out []int
	for _, u := range w.GPUUUIDs {
		minor, ok := known[u]
		switch {
		case !ok && strict:
			return nil, fmt.Errorf("%w: GPU %s is not one of this host's GPUs (MIG devices are not supported by the process runtime)", ErrInvalid, u)
		case !ok:
			slog.Warn("process: GPU not on this host; its device node is left to the sweep", "gpu", u, "allocation_id", w.AllocationID)
		case minor < 0:
			slog.Info("process: GPU has no device node; nothing to guard", "gpu", u)
		default:
			out = append(out, minor)
		}
	}
	return out, nil
}

// guardGPUs locks every node no allocation holds, then opens w's GPUs
// to e's group. A GPU that is not one of this host's is an error: the
// user would not reach it, and the control plane should know.
func (r *Runtime) guardGPUs(ctx context.Context, w Workload, e passwdEntry) error {
	if !r.isolating() {
		return nil
	}
	if err := r.LockIdleGPUs(ctx); err != nil {
		return err
	}
	minors, err := r.minorsOf(ctx, w, true)
	if err != nil {
		return err
	}
	return r.grantGPUs(ctx, e, minors)
}

// unguardGPUs locks w's GPUs again, unless another allocation holds one.
func (r *Runtime) unguardGPUs(ctx context.Context, w Workload, login string) error {
	if !r.isolating() {
		return nil
	}
	minors, err := r.minorsOf(ctx, w, false)
	if err != nil {
		// Release goes on: its closing sweep needs no GPU list and locks
		// these nodes once the user is gone.
		slog.Warn("process: cannot map the GPUs to release; left to the sweep", "allocation_id", w.AllocationID, "err", err)
		return nil
	}
	return r.revokeGPUs(ctx, login, minors)
}

// grantGPUs gives e's group, and only it, access to the device nodes of
// minors: root:<group> 0660. A node another allocation still holds is
// taken, with a warning: the control plane decides who holds a GPU.
func (r *Runtime) grantGPUs(ctx context.Context, e passwdEntry, minors []int) error {
	devMu.Lock()
	defer devMu.Unlock()
	for _, m := range minors {
		path := r.nodePath(m)
		st, err := statNode(path, m)
		if errors.Is(err, os.ErrNotExist) {
			slog.Info("process: GPU device node missing; nothing to guard", "path", path)
			continue
		}
		if err != nil {
			return fmt.Errorf("grant %s to %s: %w", path, e.name, err)
		}
		if int(st.Gid) != 0 && int(st.Gid) != e.gid {
			if other, held, err := r.holder(ctx, int(st.Gid)); err != nil {
				return err
			} else if held {
				slog.Warn("process: GPU device node moves from another allocation", "path", path, "from", other, "to", e.name)
			}
		}
		if err := setNode(path, m, e.gid, heldMode); err != nil {
			return fmt.Errorf("grant %s to %s: %w", path, e.name, err)
		}
	}
	return nil
}

// revokeGPUs locks the device nodes of minors (root:root 0600) unless
// another allocation holds one now (a late Release must not take a GPU
// from its next holder). login is the allocation being released.
func (r *Runtime) revokeGPUs(ctx context.Context, login string, minors []int) error {
	devMu.Lock()
	defer devMu.Unlock()
	for _, m := range minors {
		path := r.nodePath(m)
		st, err := statNode(path, m)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if errors.Is(err, errNotGPUNode) {
			// Never granted either: grantGPUs refuses such a file.
			slog.Warn("process: leaving alone a file named like a GPU device node", "path", path, "err", err)
			continue
		}
		if err != nil {
			return fmt.Errorf("revoke %s from %s: %w", path, login, err)
		}
		if other, held, err := r.holder(ctx, int(st.Gid)); err != nil {
			return err
		} else if held && other != login {
			slog.Info("process: GPU device node already held by another allocation; left to it", "path", path, "holder", other)
			continue
		}
		if err := setNode(path, m, 0, lockedMode); err != nil {
			return fmt.Errorf("revoke %s from %s: %w", path, login, err)
		}
	}
	return nil
}

// LockIdleGPUs makes every per-GPU device node in DeviceDir that no
// allocation on this host holds root:root 0600, and every held one
// root:<group> 0660. The agent calls it once at start, before it runs
// any task; Provision and Release call it too. The node's group is the
// record of who holds it, so allocations that outlive an agent restart
// keep their GPUs. A file named like a GPU node that is not one is left
// untouched, with a warning. Without GPUMinors it does nothing.
func (r *Runtime) LockIdleGPUs(ctx context.Context) error {
	if !r.isolating() {
		return nil
	}
	entries, err := os.ReadDir(r.deviceDir())
	if err != nil {
		return fmt.Errorf("lock idle GPUs: %w", err)
	}
	devMu.Lock()
	defer devMu.Unlock()
	for _, ent := range entries {
		sub := nodeNameRE.FindStringSubmatch(ent.Name())
		if sub == nil {
			continue
		}
		minor, err := strconv.Atoi(sub[1])
		if err != nil {
			continue
		}
		if err := r.sweepNode(ctx, filepath.Join(r.deviceDir(), ent.Name()), minor); err != nil {
			return err
		}
	}
	return nil
}

// sweepNode gives one node the owner and mode its holder calls for.
func (r *Runtime) sweepNode(ctx context.Context, path string, minor int) error {
	st, err := statNode(path, minor)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if errors.Is(err, errNotGPUNode) {
		slog.Warn("process: leaving alone a file named like a GPU device node", "path", path, "err", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("lock idle GPUs: %w", err)
	}
	gid, mode := 0, os.FileMode(lockedMode)
	if _, held, err := r.holder(ctx, int(st.Gid)); err != nil {
		return err
	} else if held {
		gid, mode = int(st.Gid), heldMode
	}
	if err := setNode(path, minor, gid, mode); err != nil {
		return fmt.Errorf("lock idle GPUs: %w", err)
	}
	return nil
}

// holder says which allocation's user has gid as its own group: the group
// must name a user with this runtime's mark whose primary group it is.
func (r *Runtime) holder(ctx context.Context, gid int) (login string, held bool, err error) {
	if gid == 0 {
		return "", false, nil
	}
	out, err := r.exec()(ctx, "getent", "group", strconv.Itoa(gid))
	if err != nil {
		if exitCode(err) == 2 {
			return "", false, nil // an orphaned gid: its user is gone
		}
		return "", false, fmt.Errorf("look up group %d: %w", gid, err)
	}
	name, _, _ := strings.Cut(strings.TrimSpace(string(out)), ":")
	if ValidUsername(name) != nil {
		return "", false, nil
	}
	e, ok, err := r.lookup(ctx, name)
	if err != nil || !ok {
		return "", false, err
	}
	return name, strings.HasPrefix(e.gecos, markerPrefix) && e.gid == gid, nil
}

// statNode describes path without following a symlink, and fails with
// errNotGPUNode unless it is the character device 195:minor.
func statNode(path string, minor int) (unix.Stat_t, error) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return st, &os.PathError{Op: "lstat", Path: path, Err: err}
	}
	return st, checkNode(path, st, minor)
}

func checkNode(path string, st unix.Stat_t, minor int) error {
	if st.Mode&unix.S_IFMT != unix.S_IFCHR {
		return fmt.Errorf("%s: %w (not a character device)", path, errNotGPUNode)
	}
	if maj, mnr := unix.Major(st.Rdev), unix.Minor(st.Rdev); maj != nvidiaMajor || int(mnr) != minor {
		return fmt.Errorf("%s: %w (device %d:%d, want %d:%d)", path, errNotGPUNode, maj, mnr, nvidiaMajor, minor)
	}
	return nil
}

// setNode makes path root:gid with mode. It works on a descriptor opened
// with O_PATH|O_NOFOLLOW, which neither follows a symlink nor runs the
// driver's open, and checks that descriptor again, so a node swapped
// after statNode is not changed. The mode goes to 0600 first, so no step
// on the way leaves the node open to a group or to others it should not
// reach.
func setNode(path string, minor, gid int, mode os.FileMode) error {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	if err := checkNode(path, st, minor); err != nil {
		return err
	}
	if st.Uid == 0 && int(st.Gid) == gid && os.FileMode(st.Mode&0o7777) == mode {
		return nil
	}
	// An O_PATH descriptor cannot be fchmod'ed; its /proc link can.
	self := "/proc/self/fd/" + strconv.Itoa(fd)
	if err := unix.Chmod(self, lockedMode); err != nil {
		return &os.PathError{Op: "chmod", Path: path, Err: err}
	}
	if err := unix.Fchownat(fd, "", 0, gid, unix.AT_EMPTY_PATH); err != nil {
		return &os.PathError{Op: "chown", Path: path, Err: err}
	}
	if err := unix.Chmod(self, uint32(mode)); err != nil {
		return &os.PathError{Op: "chmod", Path: path, Err: err}
	}
	slog.Info("process: GPU device node set", "path", path, "gid", gid, "mode", fmt.Sprintf("%04o", mode))
	return nil
}

// WarnDriverRecreatesNodes logs a warning when the loaded NVIDIA driver
// may put world access back on the device nodes: with ModifyDeviceFiles=1
// (the default) the driver's setuid helper, nvidia-modprobe, recreates a
// node that differs from DeviceFileMode/UID/GID when a CUDA program needs
// it, and the default mode is 0666. The agent calls it at start.
func (r *Runtime) WarnDriverRecreatesNodes() {
	if !r.isolating() {
		return
	}
	b, err := os.ReadFile(driverParams)
	if err != nil {
		return // no driver loaded: nothing to warn about
	}
	if msg := driverParamsProblem(b); msg != "" {
		slog.Warn("process: "+msg, "params", driverParams)
	}
}

// driverParamsProblem reads the driver's params file and says what in it
// undoes the device nodes' isolation, or "".
func driverParamsProblem(params []byte) string {
	p := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(params))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok {
			p[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	if p["ModifyDeviceFiles"] != "1" {
		return ""
	}
	mode, err := strconv.Atoi(p["DeviceFileMode"]) // printed in decimal: 438 is 0666
	if err != nil || mode&0o066 == 0 {
		return ""
	}
	return fmt.Sprintf("the NVIDIA driver may recreate GPU device nodes with mode %04o when a CUDA program starts, "+
		"which would reopen other allocations' GPUs: load it with NVreg_ModifyDeviceFiles=0 "+
		"(or at least NVreg_DeviceFileMode=0600 NVreg_DeviceFileUID=0 NVreg_DeviceFileGID=0); see docs/workloads.md", mode)
}
