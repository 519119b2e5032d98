package process_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/ssh"

	"github.com/gpuaas/gpuaas/internal/agent/runtime/process"
)

// requireRoot skips tests that change the real user database.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: the process runtime creates real Linux users and needs root")
	}
	for _, tool := range []string{"useradd", "userdel", "getent", "runuser", "su"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: %s is not installed (%v)", tool, err)
		}
	}
}

// newKey returns an authorized_keys line and the matching signer.
func newKey(t *testing.T) (string, ssh.Signer) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))) + " test@gpuaas", signer
}

// newWorkload is a workload with two GPUs and one key.
func newWorkload(t *testing.T) process.Workload {
	t.Helper()
	key, _ := newKey(t)
	return process.Workload{
		AllocationID:   uuid.New(),
		GPUUUIDs:       []string{"GPU-" + uuid.NewString(), "GPU-" + uuid.NewString()},
		AuthorizedKeys: []string{key},
	}
}

func login(w process.Workload) string {
	if w.Username != "" {
		return w.Username
	}
	return process.UsernameFor(w.AllocationID)
}

// provision provisions w and releases it when the test ends, however it
// ends. The cleanup is registered first so that a provision that fails half
// way is undone too.
func provision(t *testing.T, rt *process.Runtime, w process.Workload) {
	t.Helper()
	t.Cleanup(func() { cleanupUser(t, rt, w) })
	if err := rt.Provision(context.Background(), w); err != nil {
		t.Fatalf("provision: %v", err)
	}
}

func cleanupUser(t *testing.T, rt *process.Runtime, w process.Workload) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := rt.Release(ctx, w); err != nil {
		t.Errorf("cleanup: release %s: %v", login(w), err)
		_ = exec.Command("userdel", "--remove", "--force", login(w)).Run()
		_ = os.Remove(rt.ProfilePath(login(w)))
	}
}

func userExists(t *testing.T, name string) bool {
	t.Helper()
	err := exec.Command("getent", "passwd", name).Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 2 {
		return false
	}
	if err != nil {
		t.Fatalf("getent passwd %s: %v", name, err)
	}
	return true
}

func lookupUID(t *testing.T, name string) int {
	t.Helper()
	out, err := exec.Command("id", "-u", name).Output()
	if err != nil {
		t.Fatalf("id -u %s: %v", name, err)
	}
	uid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	return uid
}

// run runs a command and returns its trimmed standard output.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := process.DefaultExec(ctx, name, args...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return strings.TrimSpace(string(out))
}

func checkOwnerMode(t *testing.T, path string, uid int, mode os.FileMode) {
	t.Helper()
	info, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := int(info.Sys().(*syscall.Stat_t).Uid); got != uid {
		t.Errorf("%s: owner uid %d, want %d", path, got, uid)
	}
	if got := info.Mode().Perm(); got != mode {
		t.Errorf("%s: mode %o, want %o", path, got, mode)
	}
}

// uidProcesses counts the live processes of uid.
func uidProcesses(t *testing.T, uid int) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		status, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue
		}
		var zombie, mine bool
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "State:"); ok {
				zombie = strings.HasPrefix(strings.TrimSpace(v), "Z")
			}
			if v, ok := strings.CutPrefix(line, "Uid:"); ok {
				f := strings.Fields(v)
				mine = len(f) > 0 && f[0] == strconv.Itoa(uid)
			}
		}
		if mine && !zombie {
			n++
		}
	}
	return n
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func wantEnv(w process.Workload) string {
	s := strings.Join(w.GPUUUIDs, ",")
	return s + "|" + s
}

const printEnv = `echo "$CUDA_VISIBLE_DEVICES|$NVIDIA_VISIBLE_DEVICES"`

// sshCommand runs cmd as name the way sshd runs `ssh host CMD`: the user's
// shell with -c, a clean environment, SSH_CLIENT set, from the home.
func sshCommand(t *testing.T, rt *process.Runtime, name, cmd string) string {
	t.Helper()
	return run(t, "runuser", "-u", name, "--", "env", "-i", "-C", rt.Home(name),
		"HOME="+rt.Home(name), "USER="+name, "LOGNAME="+name, "SHELL=/bin/bash",
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"SSH_CLIENT=127.0.0.1 40000 22", "SSH_CONNECTION=127.0.0.1 40000 127.0.0.1 22",
		"/bin/bash", "-c", cmd)
}

func TestProvisionCreatesUserHomeAndKeys(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	rt := &process.Runtime{}
	w := newWorkload(t)
	provision(t, rt, w)
	name := login(w)

	if !userExists(t, name) {
		t.Fatalf("user %s was not created", name)
	}
	uid := lookupUID(t, name)
	home := rt.Home(name)
	checkOwnerMode(t, home, uid, 0o700)
	checkOwnerMode(t, filepath.Join(home, ".ssh"), uid, 0o700)
	checkOwnerMode(t, filepath.Join(home, ".ssh", "authorized_keys"), uid, 0o600)
	checkOwnerMode(t, filepath.Join(home, ".bashrc"), 0, 0o644)
	checkOwnerMode(t, rt.ProfilePath(name), 0, 0o644)

	keys, err := os.ReadFile(filepath.Join(home, ".ssh", "authorized_keys"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(keys), w.AuthorizedKeys[0]+"\n"; got != want {
		t.Errorf("authorized_keys = %q, want %q", got, want)
	}
	passwd := strings.Split(run(t, "getent", "passwd", name), ":")
	if passwd[4] != "gpuaas allocation "+w.AllocationID.String() || passwd[5] != home || passwd[6] != "/bin/bash" {
		t.Errorf("passwd entry %q", passwd)
	}
	// "*", not "!": a "!" locks the account for sshd without PAM, keys too.
	if shadow := strings.Split(run(t, "getent", "shadow", name), ":"); shadow[1] != "*" {
		t.Errorf("password field %q, want *", shadow[1])
	}
}

func TestPinnedEnvReachesLoginAndCommandSessions(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	rt := &process.Runtime{}
	w := newWorkload(t)
	provision(t, rt, w)
	name := login(w)

	if got := run(t, "su", "-", name, "-c", printEnv); got != wantEnv(w) {
		t.Errorf("login shell (su -): got %q, want %q", got, wantEnv(w))
	}
	if got := sshCommand(t, rt, name, printEnv); got != wantEnv(w) {
		t.Errorf("ssh host CMD (bash -c with SSH_CLIENT): got %q, want %q", got, wantEnv(w))
	}
	// An interactive non-login shell, as a terminal opens, reads ~/.bashrc.
	if got := run(t, "su", name, "-c", "bash -ic '"+printEnv+"' 2>/dev/null"); !strings.HasSuffix(got, wantEnv(w)) {
		t.Errorf("interactive bash: got %q, want %q", got, wantEnv(w))
	}
	// Another user's login shell reads the same file and must not pick it up.
	if got := run(t, "sh", "-c", ". "+rt.ProfilePath(name)+"; "+printEnv); got != "|" {
		t.Errorf("root sourcing %s: got %q, want nothing", rt.ProfilePath(name), got)
	}
	env := process.Env(w)
	if want := "CUDA_VISIBLE_DEVICES=" + strings.Join(w.GPUUUIDs, ","); env[0] != want {
		t.Errorf("Env()[0] = %q, want %q", env[0], want)
	}
}

func TestProvisionTwiceRewritesKeysAndGPUs(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	rt := &process.Runtime{}
	w := newWorkload(t)
	provision(t, rt, w)
	name := login(w)
	uid := lookupUID(t, name)

	if err := rt.Provision(context.Background(), w); err != nil {
		t.Fatalf("second provision: %v", err)
	}
	k1, _ := newKey(t)
	k2, _ := newKey(t)
	w.AuthorizedKeys = []string{k1, "", k2}
	w.GPUUUIDs = w.GPUUUIDs[:1]
	if err := rt.Provision(context.Background(), w); err != nil {
		t.Fatalf("provision with new keys: %v", err)
	}
	if got := lookupUID(t, name); got != uid {
		t.Errorf("uid changed from %d to %d", uid, got)
	}
	keys, err := os.ReadFile(filepath.Join(rt.Home(name), ".ssh", "authorized_keys"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(keys), k1+"\n"+k2+"\n"; got != want {
		t.Errorf("authorized_keys = %q, want %q", got, want)
	}
	if got := sshCommand(t, rt, name, printEnv); got != wantEnv(w) {
		t.Errorf("env after re-provision: got %q, want %q", got, wantEnv(w))
	}
}

// TestSetKeysReplacesTheKeysOnly: a running allocation's keys change in
// place (same user, same home, same env); an allocation with no user here
// is refused, never created.
func TestSetKeysReplacesTheKeysOnly(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	rt := &process.Runtime{}
	w := newWorkload(t)
	provision(t, rt, w)
	name := login(w)
	uid := lookupUID(t, name)
	k1, _ := newKey(t)
	w.AuthorizedKeys = []string{w.AuthorizedKeys[0], k1}
	if err := rt.SetKeys(context.Background(), w); err != nil {
		t.Fatalf("set keys: %v", err)
	}
	path := filepath.Join(rt.Home(name), ".ssh", "authorized_keys")
	keys, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(keys), w.AuthorizedKeys[0]+"\n"+k1+"\n"; got != want {
		t.Errorf("authorized_keys = %q, want %q", got, want)
	}
	checkOwnerMode(t, path, uid, 0o600)
	w.AuthorizedKeys = nil
	if err := rt.SetKeys(context.Background(), w); err != nil {
		t.Fatalf("set no keys: %v", err)
	}
	if keys, err := os.ReadFile(path); err != nil || len(keys) != 0 {
		t.Errorf("authorized_keys after removing every key: %q %v", keys, err)
	}
	if got := sshCommand(t, rt, name, printEnv); got != wantEnv(w) {
		t.Errorf("env after set keys: got %q, want %q", got, wantEnv(w))
	}
	absent := newWorkload(t)
	if err := rt.SetKeys(context.Background(), absent); !errors.Is(err, process.ErrNotProvisioned) {
		t.Errorf("set keys of an absent allocation: %v, want ErrNotProvisioned", err)
	}
	if userExists(t, login(absent)) {
		t.Errorf("set keys created user %s", login(absent))
	}
	bad := w
	bad.AuthorizedKeys = []string{"ssh-ed25519 AAAA\nssh-rsa smuggled"}
	if err := rt.SetKeys(context.Background(), bad); !errors.Is(err, process.ErrInvalid) {
		t.Errorf("a key spanning lines: %v, want ErrInvalid", err)
	}
}

// TestProvisionDoesNotFollowPlantedSymlinks: the user owns the home, and a
// retried Provision runs as root in it.
func TestProvisionDoesNotFollowPlantedSymlinks(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	rt := &process.Runtime{}
	w := newWorkload(t)
	provision(t, rt, w)
	name := login(w)
	home := rt.Home(name)

	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("precious\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, "runuser", "-u", name, "--", "sh", "-c",
		"rm -rf ~/.ssh && mkdir ~/.ssh && ln -s "+victim+" ~/.ssh/authorized_keys && rm -f ~/.bashrc && ln -s "+victim+" ~/.bashrc")
	if err := rt.Provision(context.Background(), w); err != nil {
		t.Fatalf("provision over symlinks: %v", err)
	}
	if data, err := os.ReadFile(victim); err != nil || string(data) != "precious\n" {
		t.Fatalf("victim file changed: %q, %v", data, err)
	}
	checkOwnerMode(t, victim, 0, 0o600)
	checkOwnerMode(t, filepath.Join(home, ".ssh", "authorized_keys"), lookupUID(t, name), 0o600)

	// .ssh itself a symlink out of the home.
	run(t, "runuser", "-u", name, "--", "sh", "-c", "rm -rf ~/.ssh && ln -s "+filepath.Dir(victim)+" ~/.ssh")
	if err := rt.Provision(context.Background(), w); err != nil {
		t.Fatalf("provision over a .ssh symlink: %v", err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(victim), "authorized_keys")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("authorized_keys was written through the .ssh symlink: %v", err)
	}
	checkOwnerMode(t, filepath.Join(home, ".ssh"), lookupUID(t, name), 0o700)
}

func TestReleaseKillsProcessesAndRemovesEverything(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	rt := &process.Runtime{}
	w := newWorkload(t)
	provision(t, rt, w)
	name := login(w)
	uid := lookupUID(t, name)

	// One child we wait for, one detached into its own session.
	sleeper := exec.Command("runuser", "-u", name, "--", "sleep", "1000")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sleeper.Wait() }()
	t.Cleanup(func() { _ = sleeper.Process.Kill() })
	run(t, "runuser", "-u", name, "--", "sh", "-c", "setsid sleep 1001 </dev/null >/dev/null 2>&1 &")
	eventually(t, "two sleeps running as "+name, func() bool { return uidProcesses(t, uid) >= 2 })

	scratch := filepath.Join("/tmp", "gpuaas-test-"+name)
	if err := os.WriteFile(scratch, []byte("left behind"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(scratch) })
	if err := os.Chown(scratch, uid, uid); err != nil {
		t.Fatal(err)
	}

	if err := rt.Release(context.Background(), w); err != nil {
		t.Fatalf("release: %v", err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the sleep started as the user still runs")
	}
	if n := uidProcesses(t, uid); n != 0 {
		t.Errorf("%d processes of uid %d survive", n, uid)
	}
	if userExists(t, name) {
		t.Errorf("user %s still exists", name)
	}
	for _, p := range []string{rt.Home(name), rt.ProfilePath(name), scratch} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still exists (%v)", p, err)
		}
	}
	if err := rt.Release(context.Background(), w); err != nil {
		t.Errorf("second release: %v", err)
	}
}

func TestReleaseOfAbsentUserIsNil(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	rt := &process.Runtime{}
	if err := rt.Release(context.Background(), newWorkload(t)); err != nil {
		t.Fatalf("release of a user never provisioned: %v", err)
	}
}

// TestRetryAfterHalfRelease: a Release that died after userdel left the
// home and env file; both Release and Provision pick up from there.
func TestRetryAfterHalfRelease(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	rt := &process.Runtime{}
	w := newWorkload(t)
	provision(t, rt, w)
	name := login(w)
	run(t, "userdel", name) // without --remove: the home stays, orphaned

	if err := rt.Provision(context.Background(), w); err != nil {
		t.Fatalf("provision over an orphaned home: %v", err)
	}
	checkOwnerMode(t, rt.Home(name), lookupUID(t, name), 0o700)

	run(t, "userdel", name)
	if err := rt.Release(context.Background(), w); err != nil {
		t.Fatalf("release after userdel: %v", err)
	}
	for _, p := range []string{rt.Home(name), rt.ProfilePath(name)} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still exists (%v)", p, err)
		}
	}
}

func TestParallelProvisionAndRelease(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	rt := &process.Runtime{}
	ws := make([]process.Workload, 4)
	for i := range ws {
		ws[i] = newWorkload(t)
		t.Cleanup(func() { cleanupUser(t, rt, ws[i]) })
	}
	all := func(op func(context.Context, process.Workload) error) []error {
		errs := make([]error, 2*len(ws))
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() { errs[i] = op(context.Background(), ws[i%len(ws)]) })
		}
		wg.Wait()
		return errs
	}
	// Each workload twice at once: the same user raced, and four users.
	for i, err := range all(rt.Provision) {
		if err != nil {
			t.Errorf("provision %d: %v", i, err)
		}
	}
	for _, w := range ws {
		if got := sshCommand(t, rt, login(w), printEnv); got != wantEnv(w) {
			t.Errorf("%s env: got %q, want %q", login(w), got, wantEnv(w))
		}
	}
	for i, err := range all(rt.Release) {
		if err != nil {
			t.Errorf("release %d: %v", i, err)
		}
	}
	for _, w := range ws {
		if userExists(t, login(w)) {
			t.Errorf("user %s still exists", login(w))
		}
	}
}

func TestRefusesUsersItDidNotCreate(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	rt := &process.Runtime{}
	other := newWorkload(t)
	name := login(other)
	t.Cleanup(func() { _ = exec.Command("userdel", "--remove", "--force", name).Run() })
	run(t, "useradd", "--create-home", "--comment", "someone else", name)

	if err := rt.Provision(context.Background(), other); !errors.Is(err, process.ErrNotManaged) {
		t.Errorf("provision over a foreign user: %v, want ErrNotManaged", err)
	}
	if err := rt.Release(context.Background(), other); !errors.Is(err, process.ErrNotManaged) {
		t.Errorf("release of a foreign user: %v, want ErrNotManaged", err)
	}
	if !userExists(t, name) {
		t.Fatalf("foreign user %s was deleted", name)
	}

	// Ours, but claimed by another allocation id.
	w := newWorkload(t)
	provision(t, rt, w)
	thief := w
	thief.AllocationID = uuid.New()
	thief.Username = login(w)
	if err := rt.Release(context.Background(), thief); !errors.Is(err, process.ErrNotManaged) {
		t.Errorf("release under another allocation id: %v, want ErrNotManaged", err)
	}
	if !userExists(t, login(w)) {
		t.Fatalf("user %s was deleted by another allocation's release", login(w))
	}
}

func TestRefusesInvalidWorkloads(t *testing.T) {
	// No command may run for an invalid workload; this needs no root.
	rt := &process.Runtime{Exec: func(_ context.Context, name string, args ...string) ([]byte, error) {
		t.Errorf("ran %s %v for an invalid workload", name, args)
		return nil, errors.New("must not run")
	}}
	key, _ := newKey(t)
	valid := process.Workload{AllocationID: uuid.New(), AuthorizedKeys: []string{key}, GPUUUIDs: []string{"GPU-0"}}
	cases := map[string]func(w *process.Workload){
		"no allocation id":   func(w *process.Workload) { w.AllocationID = uuid.Nil },
		"uppercase":          func(w *process.Workload) { w.Username = "Root" },
		"leading digit":      func(w *process.Workload) { w.Username = "1abc" },
		"leading dash":       func(w *process.Workload) { w.Username = "-f" },
		"space":              func(w *process.Workload) { w.Username = "a b" },
		"shell metachar":     func(w *process.Workload) { w.Username = "a;rm" },
		"path":               func(w *process.Workload) { w.Username = "../etc" },
		"33 chars":           func(w *process.Workload) { w.Username = "a" + strings.Repeat("b", 32) },
		"gpu uuid quote":     func(w *process.Workload) { w.GPUUUIDs = []string{"GPU-0'; rm -rf / #"} },
		"gpu uuid empty":     func(w *process.Workload) { w.GPUUUIDs = []string{""} },
		"key not a key":      func(w *process.Workload) { w.AuthorizedKeys = []string{"hello"} },
		"key smuggles a key": func(w *process.Workload) { w.AuthorizedKeys = []string{key + "\n" + key} },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			w := valid
			mutate(&w)
			if err := rt.Provision(context.Background(), w); !errors.Is(err, process.ErrInvalid) {
				t.Errorf("provision: %v, want ErrInvalid", err)
			}
		})
	}
	for _, name := range []string{"Root", "1abc", "a;rm", ""} {
		w := valid
		w.Username = name
		if name == "" {
			w.AllocationID = uuid.Nil
		}
		if err := rt.Release(context.Background(), w); !errors.Is(err, process.ErrInvalid) {
			t.Errorf("release %q: %v, want ErrInvalid", name, err)
		}
	}
	if err := process.ValidUsername(process.UsernameFor(uuid.New())); err != nil {
		t.Errorf("UsernameFor gives an invalid name: %v", err)
	}
	if got := len(process.UsernameFor(uuid.New())); got != 13 {
		t.Errorf("UsernameFor length %d, want 13", got)
	}
}

func TestEnvWithoutGPUsHidesAll(t *testing.T) {
	got := process.Env(process.Workload{AllocationID: uuid.New()})
	want := []string{"CUDA_VISIBLE_DEVICES=", "NVIDIA_VISIBLE_DEVICES=void"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Env = %q, want %q", got, want)
	}
}

func TestDefaultExecErrorCarriesStderr(t *testing.T) {
	_, err := process.DefaultExec(context.Background(), "sh", "-c", "echo out; echo boom >&2; exit 3")
	var ce *process.CmdError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is not a *CmdError", err)
	}
	if ce.ExitCode != 3 || !strings.Contains(err.Error(), "boom") || !strings.Contains(err.Error(), "sh -c") {
		t.Errorf("error %q, exit %d", err, ce.ExitCode)
	}
	out, err := process.DefaultExec(context.Background(), "sh", "-c", "echo out")
	if err != nil || !bytes.Equal(out, []byte("out\n")) {
		t.Errorf("stdout %q, %v", out, err)
	}
}
