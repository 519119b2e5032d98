package cli_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/devenv"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
)

// cutProxy forwards to target; while cut is set, a download's body is cut
// off after cut bytes (the connection dropped). It records each
// download's Range header.
type cutProxy struct {
	mu     sync.Mutex
	cut    int
	ranges []string
}

func (p *cutProxy) start(t *testing.T, target string) string {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/storage/download" {
			rp.ServeHTTP(w, r)
			return
		}
		p.mu.Lock()
		cut := p.cut
		p.ranges = append(p.ranges, r.Header.Get("Range"))
		p.mu.Unlock()
		if cut == 0 {
			rp.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		rp.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes()[:cut])
		panic(http.ErrAbortHandler) // the connection drops mid-body
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestCLIStorage(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, func(c *config.Server) { c.StorageFSRoot = t.TempDir() })
	if _, err := devenv.Seed(context.Background(), env.App, e2ePassword); err != nil {
		t.Fatal(err)
	}
	proxy := &cutProxy{}
	vars := map[string]string{"GPUAAS_CONFIG_DIR": t.TempDir(), "GPUAAS_SERVER": proxy.start(t, env.URL)}
	if code, _, stderr := run(t, vars, e2ePassword+"\n", "login", "--username", "demo", "--password-stdin"); code != 0 {
		t.Fatalf("login: %s", stderr)
	}
	cli := func(wantCode int, args ...string) (string, string) {
		t.Helper()
		code, stdout, stderr := run(t, vars, "", append([]string{"storage"}, args...)...)
		if code != wantCode {
			t.Fatalf("storage %v: exit %d, want %d; stderr %q", args, code, wantCode, stderr)
		}
		return stdout, stderr
	}

	dir := t.TempDir()
	data := make([]byte, 300_000)
	_, _ = rand.Read(data)
	src := filepath.Join(dir, "model.bin")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cli(0, "cp", src, ":models/")
	if out, _ := cli(0, "ls", ":models"); !strings.Contains(out, "model.bin") || !strings.Contains(out, "300.0 kB") {
		t.Errorf("ls: %q", out)
	}
	if out, _ := cli(0, "ls"); !strings.Contains(out, "models/") {
		t.Errorf("ls of the root: %q", out)
	}

	// A download cut off half way keeps its part; the same command again
	// asks for the rest only and ends with the whole file.
	got := filepath.Join(dir, "got.bin")
	proxy.mu.Lock()
	proxy.cut = 100_000
	proxy.mu.Unlock()
	_, stderr := cli(1, "cp", ":models/model.bin", got)
	if !strings.Contains(stderr, "run the same command again to resume") {
		t.Errorf("cut download says %q", stderr)
	}
	if fi, err := os.Stat(got + ".partial"); err != nil || fi.Size() != 100_000 {
		t.Fatalf("part after the cut: %v %v", fi, err)
	}
	proxy.mu.Lock()
	proxy.cut = 0
	proxy.mu.Unlock()
	cli(0, "cp", ":models/model.bin", got)
	if b, err := os.ReadFile(got); err != nil || !bytes.Equal(b, data) {
		t.Fatalf("resumed download differs (%d bytes, %v)", len(b), err)
	}
	if proxy.ranges[len(proxy.ranges)-1] != "bytes=100000-" {
		t.Errorf("resume asked for %q", proxy.ranges)
	}
	for _, left := range []string{got + ".partial", got + ".partial.etag"} {
		if _, err := os.Stat(left); !os.IsNotExist(err) {
			t.Errorf("%s left behind", left)
		}
	}

	// Folders with -r, both ways.
	tree := filepath.Join(dir, "tree")
	for name, body := range map[string]string{"a.txt": "a", "sub/b.txt": "bb", "sub/deeper/c.txt": "ccc"} {
		p := filepath.Join(tree, name)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, stderr = cli(2, "cp", tree, ":trees/")
	if !strings.Contains(stderr, "copy it with -r") {
		t.Errorf("folder without -r: %q", stderr)
	}
	cli(0, "cp", "-r", tree, ":trees/")
	back := filepath.Join(dir, "back")
	cli(0, "cp", "-r", ":trees/tree", back)
	for name, body := range map[string]string{"a.txt": "a", "sub/b.txt": "bb", "sub/deeper/c.txt": "ccc"} {
		if b, err := os.ReadFile(filepath.Join(back, name)); err != nil || string(b) != body {
			t.Errorf("round trip of %s: %q %v", name, b, err)
		}
	}

	cli(0, "mkdir", ":empty/inner")
	cli(0, "mv", ":models/model.bin", ":models/renamed.bin")
	if out, _ := cli(0, "ls", ":models", "-o", "json"); !strings.Contains(out, `"renamed.bin"`) {
		t.Errorf("after mv: %q", out)
	}
	if out, _ := cli(0, "du"); !strings.Contains(out, "used") || !strings.Contains(out, "300.0 kB") {
		t.Errorf("du: %q", out)
	}

	// Errors in plain words.
	_, stderr = cli(1, "cp", ":nope.bin", filepath.Join(dir, "nope"))
	if !strings.Contains(stderr, "not_found") || !strings.Contains(stderr, "HTTP 404") {
		t.Errorf("missing file: %q", stderr)
	}
	_, stderr = cli(1, "rm", ":trees")
	if !strings.Contains(stderr, "not empty") {
		t.Errorf("rm of a full folder: %q", stderr)
	}
	cli(0, "rm", "-r", ":trees")
	_, stderr = cli(1, "cp", ":../etc/passwd", filepath.Join(dir, "x"))
	if !strings.Contains(stderr, "HTTP 400") {
		t.Errorf("escape: %q", stderr)
	}
	_, stderr = cli(2, "cp", src, filepath.Join(dir, "other"))
	if !strings.Contains(stderr, "written :PATH") {
		t.Errorf("two local paths: %q", stderr)
	}
	_, _ = cli(2, "frob")
}

// TestCLIStorageTeam: --team reads and writes a team's storage; the
// caller's own stays apart, and a team they are not in is not found.
func TestCLIStorageTeam(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, func(c *config.Server) { c.StorageFSRoot = t.TempDir() })
	vars, _, _ := demoInTeam(t, env, "files-lab", "Files Lab")
	src := filepath.Join(t.TempDir(), "shared.txt")
	if err := os.WriteFile(src, []byte("for the team\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := run(t, vars, "", "storage", "cp", "--team", "files-lab", src, ":data/"); code != 0 {
		t.Fatalf("cp --team: %s", stderr)
	}
	if code, out, _ := run(t, vars, "", "storage", "ls", "--team", "files-lab", ":data"); code != 0 || !strings.Contains(out, "shared.txt") {
		t.Fatalf("ls --team: %d %q", code, out)
	}
	if code, out, _ := run(t, vars, "", "storage", "ls"); code != 0 || strings.Contains(out, "data/") {
		t.Fatalf("the caller's own storage lists the team's: %d %q", code, out)
	}
	if code, _, stderr := run(t, vars, "", "storage", "ls", "--team", "not-mine"); code != 1 || !strings.Contains(stderr, "not_found") {
		t.Fatalf("a team the caller is not in: %d %q", code, stderr)
	}
}
