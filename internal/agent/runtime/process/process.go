package process

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/ssh"

	"github.com/gpuaas/gpuaas/internal/agentproto"
)

// Workload is one allocation as this runtime sees it.
type Workload struct {
	AllocationID uuid.UUID
	// Username is the Linux login; empty means UsernameFor(AllocationID).
	Username string
	// GPUUUIDs are the reserved GPUs ("GPU-…" or "MIG-…" as nvidia-smi
	// prints them), in the order CUDA should number them.
	GPUUUIDs []string
	// AuthorizedKeys are OpenSSH public key lines, one key each.
	AuthorizedKeys []string
	// Workspace is the owner's storage namespace on the node's shared
	// filesystem, resolved by the caller (absolute, no links): Provision
	// links HOME/workspace to it and gives its files to the user, Release
	// gives them back to root and never deletes them. Empty: no workspace.
	Workspace string
}

// Runtime provisions workloads as Linux users on this host. The zero value
// is ready to use; it must run as root.
type Runtime struct {
	// HomeRoot holds the users' homes; default /home.
	HomeRoot string
	// Shell is the login shell; default /bin/bash. The pinned GPU env
	// reaches `ssh host CMD` sessions only through bash (see the package
	// doc), so another shell loses that path.
	Shell string
	// ProfileDir is where the per-user env file goes; default
	// /etc/profile.d, which /etc/profile reads for every login shell.
	ProfileDir string
	// SkelBashrc is the stock ~/.bashrc that follows our header; default
	// /etc/skel/.bashrc. A missing file means no stock content.
	SkelBashrc string
	// ScratchDirs are shared directories in which Release deletes the
	// entries the user owns, so that a later user given the same uid does
	// not inherit them; nil means /tmp, /var/tmp and /dev/shm.
	ScratchDirs []string
	// KillTimeout bounds how long Release keeps killing the user's
	// processes; default 10 s.
	KillTimeout time.Duration
	// Exec runs commands; default DefaultExec.
	Exec ExecFunc
	// GPUMinors lists this host's GPUs: uuid to the minor number of the
	// GPU's device node, DeviceDir/nvidia<minor> (-1: it has none). When
	// set, a GPU's node is open only to the group of the allocation that
	// holds it (see the package doc); nil leaves device nodes alone.
	GPUMinors func(ctx context.Context) (map[string]int, error)
	// DeviceDir holds the NVIDIA device nodes; default /dev.
	DeviceDir string
}

// Errors a caller may test for with errors.Is.
var (
	// ErrInvalid is a workload this runtime refuses: a bad username, GPU
	// uuid or key.
	ErrInvalid = errors.New("invalid workload")
	// ErrNotManaged is an existing Linux user that this runtime did not
	// create for this allocation. It is never modified or deleted.
	ErrNotManaged = errors.New("user not managed by gpuaas for this allocation")
	// ErrNotProvisioned is SetKeys for an allocation that has no user
	// (yet, or any more) on this host.
	ErrNotProvisioned = errors.New("allocation is not provisioned on this host")
)

// UsernameFor is the login for an allocation: "g" and the first 12 hex
// digits of its id (agentproto.UsernameFor, which the control plane shows
// users too). Provision refuses a name that another allocation already
// holds.
func UsernameFor(id uuid.UUID) string { return agentproto.UsernameFor(id) }

var usernameRE = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)

// ValidUsername says why s cannot be a login, or nil: at most 32 characters
// of [a-z0-9_-], not starting with a digit or dash (the portable subset
// useradd accepts everywhere).
func ValidUsername(s string) error {
	if !usernameRE.MatchString(s) {
		return fmt.Errorf("%w: username %q must match %s", ErrInvalid, s, usernameRE)
	}
	return nil
}

// gpuUUIDRE admits "GPU-<uuid>" and "MIG-<uuid>" as well as the older
// "MIG-GPU-<uuid>/<gi>/<ci>" form, and nothing a shell would interpret.
var gpuUUIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$`)

// Env is the environment that pins the workload's GPUs, as KEY=VALUE. A
// terminal started for the workload outside a login shell adds it itself.
// With no GPUs, CUDA_VISIBLE_DEVICES is empty (CUDA sees none) and
// NVIDIA_VISIBLE_DEVICES is "void" (the NVIDIA container runtime exposes
// none).
func Env(w Workload) []string {
	cuda, nvidia := gpuList(w)
	return []string{"CUDA_VISIBLE_DEVICES=" + cuda, "NVIDIA_VISIBLE_DEVICES=" + nvidia}
}

func gpuList(w Workload) (cuda, nvidia string) {
	if len(w.GPUUUIDs) == 0 {
		return "", "void"
	}
	s := strings.Join(w.GPUUUIDs, ",")
	return s, s
}

// check validates w and returns its login.
func (w Workload) check() (string, error) {
	if w.AllocationID == uuid.Nil {
		return "", fmt.Errorf("%w: allocation id is missing", ErrInvalid)
	}
	name := w.Username
	if name == "" {
		name = UsernameFor(w.AllocationID)
	}
	if err := ValidUsername(name); err != nil {
		return "", err
	}
	for _, g := range w.GPUUUIDs {
		if !gpuUUIDRE.MatchString(g) {
			return "", fmt.Errorf("%w: GPU uuid %q", ErrInvalid, g)
		}
	}
	if w.Workspace != "" && (!filepath.IsAbs(w.Workspace) || filepath.Clean(w.Workspace) != w.Workspace || w.Workspace == "/") {
		return "", fmt.Errorf("%w: workspace %q", ErrInvalid, w.Workspace)
	}
	return name, nil
}

// authorizedKeys is the authorized_keys content for w, each key checked so
// that no line can smuggle in another.
func (w Workload) authorizedKeys() ([]byte, error) {
	var b strings.Builder
	for i, k := range w.AuthorizedKeys {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		if strings.ContainsAny(k, "\r\n\x00") {
			return nil, fmt.Errorf("%w: authorized key %d spans more than one line", ErrInvalid, i)
		}
		if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k)); err != nil {
			return nil, fmt.Errorf("%w: authorized key %d: %v", ErrInvalid, i, err)
		}
		b.WriteString(k)
		b.WriteByte('\n')
	}
	return []byte(b.String()), nil
}

// marker is the GECOS field of a user this runtime created; Provision and
// Release touch no user without it.
func marker(id uuid.UUID) string { return markerPrefix + id.String() }

// markerPrefix starts the GECOS field of every user this runtime created.
const markerPrefix = "gpuaas allocation "

func (r *Runtime) exec() ExecFunc {
	if r.Exec != nil {
		return r.Exec
	}
	return DefaultExec
}

func (r *Runtime) homeRoot() string {
	if r.HomeRoot != "" {
		return r.HomeRoot
	}
	return "/home"
}

func (r *Runtime) shell() string {
	if r.Shell != "" {
		return r.Shell
	}
	return "/bin/bash"
}

func (r *Runtime) profileDir() string {
	if r.ProfileDir != "" {
		return r.ProfileDir
	}
	return "/etc/profile.d"
}

func (r *Runtime) skelBashrc() string {
	if r.SkelBashrc != "" {
		return r.SkelBashrc
	}
	return "/etc/skel/.bashrc"
}

func (r *Runtime) scratchDirs() []string {
	if r.ScratchDirs != nil {
		return r.ScratchDirs
	}
	return []string{"/tmp", "/var/tmp", "/dev/shm"}
}

func (r *Runtime) killTimeout() time.Duration {
	if r.KillTimeout > 0 {
		return r.KillTimeout
	}
	return 10 * time.Second
}

// ProfilePath is the root-owned file that holds the pinned env of login.
func (r *Runtime) ProfilePath(login string) string {
	return filepath.Join(r.profileDir(), "gpuaas-"+login+".sh")
}

// Home is the home directory Provision gives login.
func (r *Runtime) Home(login string) string { return filepath.Join(r.homeRoot(), login) }

// passwdEntry is one line of `getent passwd`.
type passwdEntry struct {
	name     string
	uid, gid int
	gecos    string
	home     string
}

// lookup finds a user by name or numeric uid; ok is false when there is none.
func (r *Runtime) lookup(ctx context.Context, key string) (e passwdEntry, ok bool, err error) {
	out, err := r.exec()(ctx, "getent", "passwd", key)
	if err != nil {
		if exitCode(err) == 2 { // "key could not be found in the database"
			return e, false, nil
		}
		return e, false, fmt.Errorf("look up user %s: %w", key, err)
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	f := strings.Split(line, ":")
	if len(f) < 7 {
		return e, false, fmt.Errorf("look up user %s: malformed entry %q", key, line)
	}
	e = passwdEntry{name: f[0], gecos: f[4], home: f[5]}
	if e.uid, err = strconv.Atoi(f[2]); err != nil {
		return e, false, fmt.Errorf("look up user %s: uid %q", key, f[2])
	}
	if e.gid, err = strconv.Atoi(f[3]); err != nil {
		return e, false, fmt.Errorf("look up user %s: gid %q", key, f[3])
	}
	return e, true, nil
}

// owned checks that e is the user Provision made for w.
func owned(e passwdEntry, w Workload) error {
	if e.gecos != marker(w.AllocationID) {
		return fmt.Errorf("%w: %s (uid %d, comment %q)", ErrNotManaged, e.name, e.uid, e.gecos)
	}
	return nil
}

// Provision makes w real: a user with a home, its keys, and its GPUs pinned
// in every shell it gets. It is safe to call again at any point, and a
// repeat rewrites the keys and the env from w.
func (r *Runtime) Provision(ctx context.Context, w Workload) error {
	login, err := w.check()
	if err != nil {
		return err
	}
	keys, err := w.authorizedKeys()
	if err != nil {
		return err
	}
	if !filepath.IsAbs(r.homeRoot()) {
		return fmt.Errorf("%w: home root %q is not absolute", ErrInvalid, r.homeRoot())
	}
	e, ok, err := r.lookup(ctx, login)
	if err != nil {
		return err
	}
	if !ok {
		if e, err = r.createUser(ctx, w, login); err != nil {
			return err
		}
	} else if err := owned(e, w); err != nil {
		return err
	}
	if err := r.guardGPUs(ctx, w, e); err != nil {
		return err
	}
	// The env file comes before the keys: by the time a key lets anyone in,
	// every shell they can get is pinned.
	if err := r.writeProfile(w, login); err != nil {
		return err
	}
	skel, err := os.ReadFile(r.skelBashrc())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read %s: %w", r.skelBashrc(), err)
	}
	if err := writeHome(e, bashrc(r.ProfilePath(login), skel), keys); err != nil {
		return fmt.Errorf("provision %s: %w", login, err)
	}
	if w.Workspace != "" {
		if err := linkWorkspace(e, w.Workspace); err != nil {
			return fmt.Errorf("provision %s: %w", login, err)
		}
	}
	return nil
}

// SetKeys replaces the authorized_keys of w's user with w.AuthorizedKeys,
// for a key its owner added or deleted while the allocation runs. sshd
// reads the file at every login, so the change holds from the next one;
// sessions already open stay. The user must exist and be this
// allocation's: SetKeys never creates one (Provision does, with the keys
// of that moment).
func (r *Runtime) SetKeys(ctx context.Context, w Workload) error {
	login, err := w.check()
	if err != nil {
		return err
	}
	keys, err := w.authorizedKeys()
	if err != nil {
		return err
	}
	e, ok, err := r.lookup(ctx, login)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("set keys of %s: %w", login, ErrNotProvisioned)
	}
	if err := owned(e, w); err != nil {
		return err
	}
	if filepath.Clean(e.home) != filepath.Clean(r.Home(login)) {
		return fmt.Errorf("%w: %s's home is %s, not %s", ErrNotManaged, login, e.home, r.Home(login))
	}
	home, err := os.OpenRoot(e.home)
	if err != nil {
		return fmt.Errorf("set keys of %s: open home: %w", login, err)
	}
	defer home.Close()
	if err := writeKeys(home, e, keys); err != nil {
		return fmt.Errorf("set keys of %s: %w", login, err)
	}
	return nil
}

// createUser adds the user for w. The password field is "*": no password
// matches it, so only keys log in, yet OpenSSH does not count it as locked
// the way it does "!" (see the package doc).
func (r *Runtime) createUser(ctx context.Context, w Workload, login string) (passwdEntry, error) {
	home := r.Home(login)
	if err := r.removeOrphanHome(ctx, home); err != nil {
		return passwdEntry{}, err
	}
	_, err := r.runUserDB(ctx, "useradd",
		"--create-home", "--home-dir", home,
		"--shell", r.shell(),
		"--comment", marker(w.AllocationID),
		"--password", "*",
		"--user-group",
		login)
	// 9: the name is taken, perhaps by a concurrent Provision of the same
	// workload; the lookup below decides whether that is us.
	if err != nil && exitCode(err) != 9 {
		return passwdEntry{}, fmt.Errorf("create user %s: %w", login, err)
	}
	e, ok, lerr := r.lookup(ctx, login)
	switch {
	case lerr != nil:
		return e, lerr
	case !ok:
		return e, fmt.Errorf("create user %s: not in the user database afterwards: %w", login, err)
	}
	return e, owned(e, w)
}

// removeOrphanHome deletes a home left behind with no user, for example by
// a Release that stopped between userdel and the directory's removal. A
// directory that is an existing user's home is an error, never deleted.
// Owner uids are not enough to tell: userdel frees the uid, and the next
// useradd may take it while the orphan still carries it, so the directory
// only counts as someone else's when it is that user's home.
func (r *Runtime) removeOrphanHome(ctx context.Context, home string) error {
	info, err := os.Lstat(home)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("inspect home %s: %w", home, err)
	}
	uid := fileUID(info)
	e, ok, err := r.lookup(ctx, strconv.Itoa(uid))
	if err != nil {
		return err
	}
	if ok && filepath.Clean(e.home) == filepath.Clean(home) {
		return fmt.Errorf("%w: home %s already exists and belongs to %s", ErrNotManaged, home, e.name)
	}
	if err := os.RemoveAll(home); err != nil {
		return fmt.Errorf("remove orphaned home %s: %w", home, err)
	}
	return nil
}

// Release undoes Provision: it kills every process of the user, deletes
// the user, its home, its files in the scratch directories and its env
// file. Releasing a user that is not there is not an error.
func (r *Runtime) Release(ctx context.Context, w Workload) error {
	login, err := w.check()
	if err != nil {
		return err
	}
	e, ok, err := r.lookup(ctx, login)
	if err != nil {
		return err
	}
	if ok {
		if err := owned(e, w); err != nil {
			return err
		}
	}
	// The GPUs are locked before the user goes, so that a Release that
	// stops half way never leaves a node open to a group that no longer
	// has a name (and whose gid the next useradd may hand out again).
	if err := r.unguardGPUs(ctx, w, login); err != nil {
		return err
	}
	if ok {
		// The link goes first, so nothing that deletes HOME meets it;
		// neither userdel nor RemoveAll follows a link, but the
		// workspace's files must not hang on that alone.
		if err := unlinkWorkspace(r.Home(login)); err != nil {
			return err
		}
		if err := r.deleteUser(ctx, e); err != nil {
			return err
		}
	} else if err := r.removeOrphanHome(ctx, r.Home(login)); err != nil {
		return err
	}
	if w.Workspace != "" {
		// The uid is free now and the next useradd may hand it out
		// again: the files must not stay with it.
		if err := chownTree(w.Workspace, 0, 0); err != nil {
			return fmt.Errorf("give the workspace back to root: %w", err)
		}
	}
	if err := os.Remove(r.ProfilePath(login)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove env file: %w", err)
	}
	// Whatever the user held that w did not name (a GPU since gone from
	// the inventory) is now held by no one: lock it.
	return r.LockIdleGPUs(ctx)
}

func (r *Runtime) deleteUser(ctx context.Context, e passwdEntry) error {
	r.terminateSessions(ctx, e.name)
	if err := r.killAll(ctx, e.uid); err != nil {
		return err
	}
	if err := r.removeScratch(e.uid); err != nil {
		return err
	}
	// --force: what could still count as the user's after killAll is a
	// zombie whose root parent has not reaped it yet, and that must not
	// keep the account alive. The private group and home are ours alone.
	_, err := r.runUserDB(ctx, "userdel", "--remove", "--force", e.name)
	if err != nil {
		// userdel also fails over warnings (no mail spool, a home already
		// gone); what matters is whether the user is gone.
		_, still, lerr := r.lookup(ctx, e.name)
		if lerr != nil {
			return lerr
		}
		if still {
			return fmt.Errorf("delete user %s: %w", e.name, err)
		}
	}
	// A process forked between the last kill and userdel keeps the uid;
	// it is found by number now that the name is gone.
	if err := r.killAll(ctx, e.uid); err != nil {
		return err
	}
	// userdel --remove deleted the home the user database named; this
	// catches one it could not. Only our own path, never the database's:
	// that one is only as trustworthy as whoever last edited /etc/passwd.
	if home := r.Home(e.name); dirExists(home) {
		if err := os.RemoveAll(home); err != nil {
			return fmt.Errorf("remove home %s: %w", home, err)
		}
	}
	return nil
}
