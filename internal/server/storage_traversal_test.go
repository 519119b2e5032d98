package server_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/google/uuid"
	"github.com/minio/minio-go/v7"

	"github.com/gpuaas/gpuaas/internal/storage"
	"github.com/gpuaas/gpuaas/internal/storage/storagetest"
)

// refusedOrInside checks one answer of the traversal suite: a refused path
// is 400 invalid_path; an accepted one is anything but a server error.
func refusedOrInside(t *testing.T, op string, c storagetest.Hostile, r resp) {
	t.Helper()
	if c.Inside == "" {
		// A JSON body with a control character is refused by the decoder
		// (invalid_request) before the path is looked at.
		if r.status == http.StatusBadRequest && (r.code() == "invalid_path" ||
			(r.code() == "invalid_request" && strings.IndexFunc(c.Path, unicode.IsControl) >= 0)) {
			return
		}
		t.Errorf("%s %q: want 400 invalid_path, got %d %s", op, c.Path, r.status, r.body)
		return
	}
	if r.status >= 500 || r.status == http.StatusBadRequest && r.code() == "invalid_path" {
		t.Errorf("%s %q (inside as %q): got %d %s", op, c.Path, c.Inside, r.status, r.body)
	}
}

// runHostile sends every hostile path through every operation.
func runHostile(t *testing.T, s *storer) {
	for _, c := range storagetest.HostilePaths {
		refusedOrInside(t, "upload", c, s.upload(c.Path, []byte("x")))
		if c.Inside != "" {
			if r := s.download(c.Path, nil); r.status != 200 || string(r.body) != "x" {
				t.Errorf("download %q after upload: %d %s", c.Path, r.status, r.body)
			}
		}
		r, _ := s.list(c.Path, nil)
		if c.Inside != "" {
			// The path is a file now: listing it is 400 invalid_path (not
			// a folder), which is fine.
			if r.status >= 500 {
				t.Errorf("list %q: %d %s", c.Path, r.status, r.body)
			}
		} else {
			refusedOrInside(t, "list", c, r)
		}
		refusedOrInside(t, "download", c, s.download(c.Path, nil))
		refusedOrInside(t, "mkdir", c, s.mkdir(c.Path))
		refusedOrInside(t, "rename from", c, s.rename(c.Path, "renamed"))
		if c.Inside != "" {
			_ = s.rename("renamed", c.Inside)
		}
		_ = s.upload("src.txt", []byte("src"))
		refusedOrInside(t, "rename to", c, s.rename("src.txt", c.Path))
		refusedOrInside(t, "delete", c, s.delete(c.Path, true))
	}
}

func TestStorageTraversalFS(t *testing.T) {
	t.Parallel()
	se := startStorage(t, false)
	s := se.storer(t, "user", "")
	other := se.storer(t, "user", "")
	want(t, other.upload("secret.txt", []byte("other's secret")), 201, "")
	want(t, s.upload("canary.txt", []byte("canary")), 201, "")

	// Outside the storage root: a file and a folder a symlink will point at.
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.txt")
	if err := os.WriteFile(secret, []byte("host secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(outside, "dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	beforeOutside := fsTree(t, outside)
	beforeOther := fsTree(t, filepath.Join(se.Root, storage.UserNamespace(uuidOf(t, other.userID))))

	runHostile(t, s)

	// Symlinks a workload plants in its namespace: to a file and a folder
	// outside, to another user's namespace, and an absolute one to /.
	ns := filepath.Join(se.Root, storage.UserNamespace(uuidOf(t, s.userID)))
	links := map[string]string{
		"link-file":  secret,
		"link-dir":   filepath.Join(outside, "dir"),
		"link-other": "../" + storage.UserNamespace(uuidOf(t, other.userID)),
		"link-root":  "/",
		"sub/up":     "../..",
	}
	if err := os.MkdirAll(filepath.Join(ns, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(ns, name)); err != nil {
			t.Fatal(err)
		}
	}
	// An inside link is followed.
	if err := os.Symlink("canary.txt", filepath.Join(ns, "link-inside")); err != nil {
		t.Fatal(err)
	}
	if r := s.download("link-inside", nil); string(r.body) != "canary" {
		t.Fatalf("inside link: %d %s", r.status, r.body)
	}
	_, l := s.list("", nil)
	for _, e := range l.Items {
		if strings.HasPrefix(e.Name, "link-") && e.Name != "link-inside" {
			t.Errorf("listing shows the escaping link %s", e.Name)
		}
	}
	for _, p := range []string{"link-file", "link-dir/x", "link-other/secret.txt", "link-root/etc/passwd", "sub/up/" + storage.UserNamespace(uuidOf(t, other.userID)) + "/secret.txt"} {
		want(t, s.download(p, nil), 400, "invalid_path")
	}
	for _, p := range []string{"link-dir", "link-other", "link-root/etc", "sub/up"} {
		r, _ := s.list(p, nil)
		want(t, r, 400, "invalid_path")
	}
	for _, p := range []string{"link-dir/new", "link-other/new", "link-root/tmp/new", "sub/up/new"} {
		want(t, s.upload(p, []byte("evil")), 400, "invalid_path")
		want(t, s.mkdir(p+"-dir"), 400, "invalid_path")
		want(t, s.rename("canary.txt", p+"-moved"), 400, "invalid_path")
		want(t, s.rename(p, "pulled-in"), 400, "invalid_path")
		want(t, s.delete(p, true), 400, "invalid_path")
	}
	want(t, s.delete("link-other/secret.txt", false), 400, "invalid_path")
	// Replacing or deleting the link itself touches only the link.
	want(t, s.upload("link-file", []byte("replaced")), 201, "")
	want(t, s.delete("link-dir", true), 204, "")
	want(t, s.delete("link-other", true), 204, "")
	want(t, s.rename("link-root", "moved-link"), 200, "")
	want(t, s.delete("moved-link", true), 204, "")
	// A namespace's usage does not follow links out.
	if u := s.usage(); u.UsedBytes > 1<<20 {
		t.Fatalf("usage followed a link: %+v", u)
	}

	if got := fsTree(t, outside); got != beforeOutside {
		t.Fatalf("outside changed:\n%s\nwas\n%s", got, beforeOutside)
	}
	if b, _ := os.ReadFile(secret); string(b) != "host secret" {
		t.Fatal("the outside file changed")
	}
	if got := fsTree(t, filepath.Join(se.Root, storage.UserNamespace(uuidOf(t, other.userID)))); got != beforeOther {
		t.Fatalf("the other namespace changed:\n%s\nwas\n%s", got, beforeOther)
	}
	// Nothing but namespaces at the storage root.
	des, _ := os.ReadDir(se.Root)
	for _, de := range des {
		if !strings.HasPrefix(de.Name(), "u-") || !de.IsDir() {
			t.Errorf("storage root holds %s", de.Name())
		}
	}
}

func TestStorageTraversalS3(t *testing.T) {
	t.Parallel()
	se := startStorage(t, true)
	s := se.storer(t, "user", "s3r")
	other := se.storer(t, "user", "s3r")
	want(t, other.upload("secret.txt", []byte("other's secret")), 201, "")
	want(t, s.upload("canary.txt", []byte("canary")), 201, "")
	// An object outside every namespace, beside the prefix.
	b, err := storage.NewS3(se.S3)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := b.Client().PutObject(ctx, se.S3.Bucket, "outside.txt", strings.NewReader("bucket secret"), -1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}

	runHostile(t, s)

	mine := se.S3.Prefix + storage.UserNamespace(uuidOf(t, s.userID)) + "/"
	theirs := se.S3.Prefix + storage.UserNamespace(uuidOf(t, other.userID)) + "/"
	for oi := range b.Client().ListObjects(ctx, se.S3.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if oi.Err != nil {
			t.Fatal(oi.Err)
		}
		switch {
		case strings.HasPrefix(oi.Key, mine), oi.Key == "outside.txt", oi.Key == theirs+"secret.txt":
		default:
			t.Errorf("object outside the namespace: %q", oi.Key)
		}
	}
	if r := other.download("secret.txt", nil); string(r.body) != "other's secret" {
		t.Fatal("the other namespace changed")
	}
}

func uuidOf(t testing.TB, s string) uuid.UUID {
	t.Helper()
	id, err := uuid.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
