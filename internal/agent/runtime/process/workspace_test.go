package process_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/agent/runtime/process"
)

// TestWorkspaceSurvivesRelease: the user reads and writes ~/workspace (a
// root-made link to the owner's namespace); a link the user plants in it
// does not give them its target; release deletes the home and the user
// but not one file of the workspace, whose files go back to root.
func TestWorkspaceSurvivesRelease(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	root := t.TempDir() // the shared filesystem's root: users pass through, never list
	for _, d := range []string{filepath.Dir(root), root} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	ws := filepath.Join(root, "u-"+uuid.NewString())
	if err := os.Mkdir(ws, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "old.txt"), []byte("from before\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rt := &process.Runtime{}
	w := newWorkload(t)
	w.Workspace = ws
	provision(t, rt, w)
	name := login(w)
	home := rt.Home(name)
	uid := lookupUID(t, name)

	if target, err := os.Readlink(filepath.Join(home, process.WorkspaceLink)); err != nil || target != ws {
		t.Fatalf("~/workspace links to %q (%v), want %s", target, err, ws)
	}
	checkOwnerMode(t, filepath.Join(home, process.WorkspaceLink), 0, 0o777)
	if got := run(t, "runuser", "-u", name, "--", "sh", "-c",
		"cat ~/workspace/old.txt && mkdir -p ~/workspace/runs && echo written > ~/workspace/runs/new.txt && ln -s /etc/passwd ~/workspace/evil && echo ok"); got != "from before\nok" {
		t.Fatalf("the user in ~/workspace: %q", got)
	}
	checkOwnerMode(t, ws, uid, 0o700)
	// A repeat of the provision walks the workspace again; the planted link
	// changes owner, never its target.
	if err := rt.Provision(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	checkOwnerMode(t, "/etc/passwd", 0, 0o644)

	if err := rt.Release(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	if userExists(t, name) {
		t.Fatal("user still there")
	}
	if _, err := os.Lstat(home); !os.IsNotExist(err) {
		t.Fatalf("home still there: %v", err)
	}
	for file, want := range map[string]string{"old.txt": "from before\n", "runs/new.txt": "written\n"} {
		b, err := os.ReadFile(filepath.Join(ws, file))
		if err != nil || string(b) != want {
			t.Errorf("workspace %s after release: %q %v", file, b, err)
		}
		checkOwnerMode(t, filepath.Join(ws, file), 0, modeOf(t, filepath.Join(ws, file)))
	}
	checkOwnerMode(t, ws, 0, 0o700)
	checkOwnerMode(t, filepath.Join(ws, "runs"), 0, modeOf(t, filepath.Join(ws, "runs")))
}

func modeOf(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestWorkspaceLinkLeavesTheUsersOwnAlone: a Provision refuses to replace
// a ~/workspace the user made that is not a link, and a Release removes it
// with the home, never following anything into the namespace.
func TestWorkspaceLinkLeavesTheUsersOwnAlone(t *testing.T) {
	requireRoot(t)
	t.Parallel()
	root := t.TempDir()
	for _, d := range []string{filepath.Dir(root), root} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	ws := filepath.Join(root, "u-"+uuid.NewString())
	if err := os.Mkdir(ws, 0o700); err != nil {
		t.Fatal(err)
	}
	rt := &process.Runtime{}
	w := newWorkload(t)
	w.Workspace = ws
	provision(t, rt, w)
	name := login(w)
	run(t, "runuser", "-u", name, "--", "sh", "-c", "echo keep > ~/workspace/keep.txt && rm ~/workspace && mkdir ~/workspace && ln -s "+ws+" ~/workspace/inner")
	if err := rt.Provision(context.Background(), w); err == nil {
		t.Error("provision replaced the user's own ~/workspace directory")
	}
	if err := rt.Release(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(ws, "keep.txt")); err != nil || string(b) != "keep\n" {
		t.Fatalf("workspace file after release: %q %v", b, err)
	}
	checkOwnerMode(t, filepath.Join(ws, "keep.txt"), 0, modeOf(t, filepath.Join(ws, "keep.txt")))
}
