package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/inventory"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/internal/storage"
	"github.com/gpuaas/gpuaas/internal/storage/storagetest"
)

// storageEnv is a control plane with region r1 on an fs backend under
// Root and, when withS3, region s3r on a bucket of the test's own.
type storageEnv struct {
	*servertest.Env
	Root string // the fs backend's directory
	S3   storage.S3Config
}

func startStorage(t *testing.T, withS3 bool, mutate ...func(*config.Server)) *storageEnv {
	t.Helper()
	se := &storageEnv{Root: filepath.Join(t.TempDir(), "storage")}
	if withS3 {
		se.S3 = storagetest.Bucket(t, "gpuaas/")
	}
	cfgDir := t.TempDir()
	se.Env = servertest.Start(t, append([]func(*config.Server){func(c *config.Server) {
		c.StorageFSRoot = se.Root
		if withS3 {
			c.StorageConfig = storagetest.ConfigFile(t, cfgDir, "s3r", se.S3)
		}
		// The suites send hundreds of requests as one user.
		c.APIRate, c.APIBurst = 100000, 100000
	}}, mutate...)...)
	if err := se.App.Inventory.SeedRegion(context.Background(), inventory.Region{ID: "r1", Name: "R1"}); err != nil {
		t.Fatal(err)
	}
	return se
}

// storer talks to the storage routes as one user.
type storer struct {
	t      testing.TB
	base   string
	token  string
	region string
	hc     *http.Client // contract-checked
	plain  *http.Client // for streams (the contract client reads whole bodies)
	userID string
}

func (se *storageEnv) storer(t testing.TB, role, region string) *storer {
	u := se.NewUser(role)
	_, pair := se.Login(u)
	return &storer{t: t, base: se.URL, token: pair.AccessToken, region: region, hc: se.HTTPClient(),
		plain: &http.Client{}, userID: u.Id.String()}
}

type resp struct {
	status int
	body   []byte
	header http.Header
}

func (r resp) code() string {
	var e struct{ Code string }
	_ = json.Unmarshal(r.body, &e)
	return e.Code
}

func (s *storer) url(route string, q url.Values) string {
	if q == nil {
		q = url.Values{}
	}
	if s.region != "" && q.Get("region") == "" {
		q.Set("region", s.region)
	}
	return s.base + route + "?" + q.Encode()
}

func (s *storer) do(hc *http.Client, method, u string, body io.Reader, hdr http.Header) resp {
	s.t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		s.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	res, err := hc.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, body: b, header: res.Header}
}

func (s *storer) upload(p string, data []byte) resp {
	return s.do(s.hc, "PUT", s.url("/api/v1/storage/upload", url.Values{"path": {p}}), bytes.NewReader(data),
		http.Header{"Content-Type": {"application/octet-stream"}})
}

func (s *storer) download(p string, hdr http.Header) resp {
	return s.do(s.hc, "GET", s.url("/api/v1/storage/download", url.Values{"path": {p}}), nil, hdr)
}

func (s *storer) list(p string, extra url.Values) (resp, api.StorageList) {
	q := url.Values{"path": {p}}
	for k, v := range extra {
		q[k] = v
	}
	r := s.do(s.hc, "GET", s.url("/api/v1/storage/list", q), nil, nil)
	var l api.StorageList
	if r.status == http.StatusOK {
		if err := json.Unmarshal(r.body, &l); err != nil {
			s.t.Fatal(err)
		}
	}
	return r, l
}

func (s *storer) mkdir(p string) resp {
	b, _ := json.Marshal(api.StorageMkdirRequest{Path: p})
	return s.do(s.hc, "POST", s.url("/api/v1/storage/mkdir", nil), bytes.NewReader(b), http.Header{"Content-Type": {"application/json"}})
}

func (s *storer) rename(from, to string) resp {
	b, _ := json.Marshal(api.StorageRenameRequest{From: from, To: to})
	return s.do(s.hc, "POST", s.url("/api/v1/storage/rename", nil), bytes.NewReader(b), http.Header{"Content-Type": {"application/json"}})
}

func (s *storer) delete(p string, recursive bool) resp {
	q := url.Values{"path": {p}}
	if recursive {
		q.Set("recursive", "true")
	}
	return s.do(s.hc, "DELETE", s.url("/api/v1/storage/delete", q), nil, nil)
}

func (s *storer) usage() api.StorageUsage {
	s.t.Helper()
	r := s.do(s.hc, "GET", s.url("/api/v1/storage/usage", nil), nil, nil)
	if r.status != http.StatusOK {
		s.t.Fatalf("usage: %d %s", r.status, r.body)
	}
	var u api.StorageUsage
	_ = json.Unmarshal(r.body, &u)
	return u
}

func want(t testing.TB, r resp, status int, code string) {
	t.Helper()
	if r.status != status || (code != "" && r.code() != code) {
		t.Fatalf("want %d %s, got %d %s", status, code, r.status, r.body)
	}
}

func names(l api.StorageList) string {
	var out []string
	for _, e := range l.Items {
		n := e.Name
		if e.IsDir {
			n += "/"
		}
		out = append(out, n)
	}
	return strings.Join(out, ",")
}

func TestStorageFilesFS(t *testing.T) {
	t.Parallel()
	se := startStorage(t, false)
	exerciseFiles(t, se, "")
}

func TestStorageFilesS3(t *testing.T) {
	t.Parallel()
	se := startStorage(t, true)
	exerciseFiles(t, se, "s3r")
}

// exerciseFiles walks the file API on one region's backend.
func exerciseFiles(t *testing.T, se *storageEnv, region string) {
	s := se.storer(t, "user", region)
	wantRegion := region
	if wantRegion == "" {
		wantRegion = "r1"
	}
	u := s.usage()
	if u.Region != wantRegion || u.UsedBytes != 0 || u.QuotaBytes != config.DefaultStorageQuotaBytes {
		t.Fatalf("fresh usage %+v", u)
	}
	r, l := s.list("", nil)
	want(t, r, 200, "")
	if len(l.Items) != 0 {
		t.Fatalf("fresh namespace lists %s", names(l))
	}

	// Upload: the raw body is the file, whatever its Content-Type.
	r = s.do(s.hc, "PUT", s.url("/api/v1/storage/upload", url.Values{"path": {"/notes.txt"}}), strings.NewReader("hello world"),
		http.Header{"Content-Type": {"application/json"}})
	want(t, r, 201, "")
	var e api.StorageEntry
	_ = json.Unmarshal(r.body, &e)
	if e.Path != "notes.txt" || e.Name != "notes.txt" || e.Size != 11 || e.IsDir || e.ModifiedAt.IsZero() {
		t.Fatalf("entry %+v", e)
	}

	// Download: type by extension, attachment, ETag, ranges.
	r = s.download("notes.txt", nil)
	want(t, r, 200, "")
	if string(r.body) != "hello world" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") ||
		r.header.Get("Content-Disposition") != `attachment; filename=notes.txt` || r.header.Get("ETag") == "" ||
		r.header.Get("Accept-Ranges") != "bytes" || r.header.Get("Last-Modified") == "" {
		t.Fatalf("download: %q %v", r.body, r.header)
	}
	r = s.download("notes.txt", http.Header{"Range": {"bytes=6-"}})
	want(t, r, 206, "")
	if string(r.body) != "world" || r.header.Get("Content-Range") != "bytes 6-10/11" {
		t.Fatalf("range: %q %v", r.body, r.header)
	}
	r = s.do(s.hc, "GET", s.url("/api/v1/storage/download", url.Values{"path": {"notes.txt"}}), nil, http.Header{"Range": {"bytes=100-200"}})
	want(t, r, 416, "range_not_satisfiable")
	// Sniffed when the extension says nothing; a non-ASCII name is encoded.
	want(t, s.upload("données/bild", []byte("\x89PNG\r\n\x1a\n0000")), 201, "")
	r = s.download("données/bild", nil)
	if r.header.Get("Content-Type") != "image/png" || r.header.Get("Content-Disposition") != "attachment; filename=bild" {
		t.Fatalf("sniffed download: %v", r.header)
	}
	want(t, s.upload("données/été 2026.bin", []byte{1, 2, 3}), 201, "")
	r = s.download("données/été 2026.bin", nil)
	if cd := r.header.Get("Content-Disposition"); cd != `attachment; filename*=utf-8''%C3%A9t%C3%A9%202026.bin` {
		t.Fatalf("non-ASCII disposition %q", cd)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/octet-stream" {
		t.Fatalf("binary content type %q", ct)
	}

	// Parents are created; a folder at the path is a conflict.
	want(t, s.upload("d1/d2/deep.bin", []byte("deep")), 201, "")
	r, l = s.list("d1", nil)
	want(t, r, 200, "")
	if names(l) != "d2/" {
		t.Fatalf("d1 lists %s", names(l))
	}
	want(t, s.upload("d1", []byte("x")), 409, "conflict")
	want(t, s.upload("d1/d2/deep.bin/under-a-file", []byte("x")), 409, "conflict")
	want(t, s.download("d1", nil), 400, "invalid_path")
	want(t, s.download("nope.txt", nil), 404, "not_found")
	r, _ = s.list("nope", nil)
	want(t, r, 404, "not_found")
	r, _ = s.list("notes.txt", nil)
	want(t, r, 400, "invalid_path")

	// Replace atomically; usage follows.
	want(t, s.upload("notes.txt", []byte("hi")), 201, "")
	if r = s.download("notes.txt", nil); string(r.body) != "hi" {
		t.Fatalf("replaced file reads %q", r.body)
	}

	// Mkdir: idempotent for folders, a conflict on a file.
	want(t, s.mkdir("new/deeper"), 201, "")
	want(t, s.mkdir("new/deeper"), 201, "")
	want(t, s.mkdir("notes.txt"), 409, "conflict")
	want(t, s.mkdir("notes.txt/sub"), 409, "conflict")
	r, l = s.list("new", nil)
	if names(l) != "deeper/" {
		t.Fatalf("new lists %s", names(l))
	}

	// Rename: missing from 404, existing to 409, into itself 400.
	r = s.rename("notes.txt", "moved/notes.txt")
	want(t, r, 200, "")
	_ = json.Unmarshal(r.body, &e)
	if e.Path != "moved/notes.txt" || e.Size != 2 {
		t.Fatalf("renamed entry %+v", e)
	}
	want(t, s.rename("notes.txt", "x"), 404, "not_found")
	want(t, s.rename("moved/notes.txt", "d1/d2/deep.bin"), 409, "conflict")
	want(t, s.rename("d1", "d1/d2/inner"), 400, "invalid_path")
	want(t, s.rename("", "x"), 400, "invalid_path")
	want(t, s.rename("d1", "d9"), 200, "")
	if r = s.download("d9/d2/deep.bin", nil); string(r.body) != "deep" {
		t.Fatalf("file in a moved folder reads %q", r.body)
	}

	// Listing: folders first, then by name, in pages.
	for _, n := range []string{"b", "a", "c"} {
		want(t, s.upload("page/"+n+".f", []byte(n)), 201, "")
		want(t, s.mkdir("page/"+n+"-dir"), 201, "")
	}
	var all []string
	cursor := ""
	for i := 0; ; i++ {
		q := url.Values{"page_size": {"4"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		r, l = s.list("page", q)
		want(t, r, 200, "")
		all = append(all, names(l))
		if cursor = l.NextCursor; cursor == "" || i > 5 {
			break
		}
	}
	if got := strings.Join(all, "|"); got != "a-dir/,b-dir/,c-dir/,a.f|b.f,c.f" {
		t.Fatalf("pages %s", got)
	}

	// Delete: a folder with contents needs recursive; the root never.
	want(t, s.delete("d9", false), 409, "conflict")
	want(t, s.delete("d9", true), 204, "")
	want(t, s.delete("d9", true), 404, "not_found")
	want(t, s.delete("/", true), 400, "invalid_path")
	want(t, s.delete("new/deeper", false), 204, "")

	// Usage is the files' bytes: hi(2) + png(12) + 3 + a b c.
	if u = s.usage(); u.UsedBytes != 2+12+3+3 {
		t.Fatalf("usage %+v, want %d", u, 2+12+3+3)
	}

	// Another user sees none of it.
	o := se.storer(t, "user", region)
	if _, l = o.list("", nil); len(l.Items) != 0 {
		t.Fatalf("another user lists %s", names(l))
	}
	want(t, o.download("moved/notes.txt", nil), 404, "not_found")
	want(t, o.delete("moved", true), 404, "not_found")
	if r = s.download("moved/notes.txt", nil); string(r.body) != "hi" {
		t.Fatal("the owner's file changed")
	}

	// Unknown region.
	r = s.do(s.hc, "GET", s.url("/api/v1/storage/usage", url.Values{"region": {"mars"}}), nil, nil)
	want(t, r, 400, "unknown_region")

	// The admin quota: 413 with figures, then back to the default.
	admin := se.storer(t, "admin", region)
	q := url.Values{}
	if region != "" {
		q.Set("region", region)
	}
	qb, _ := json.Marshal(map[string]any{"quota_bytes": u.UsedBytes + 5})
	r = admin.do(admin.hc, "PUT", se.URL+"/api/v1/admin/users/"+s.userID+"/storage-quota?"+q.Encode(), bytes.NewReader(qb), http.Header{"Content-Type": {"application/json"}})
	want(t, r, 200, "")
	r = s.upload("big.bin", make([]byte, 6))
	want(t, r, 413, "storage_quota_exceeded")
	var env struct{ Details map[string]int64 }
	_ = json.Unmarshal(r.body, &env)
	if env.Details["quota_bytes"] != u.UsedBytes+5 || env.Details["used_bytes"] != u.UsedBytes {
		t.Fatalf("413 details %s", r.body)
	}
	want(t, s.upload("small.bin", make([]byte, 5)), 201, "")
	r = admin.do(admin.hc, "GET", se.URL+"/api/v1/admin/users/"+s.userID+"/storage-quota?"+q.Encode(), nil, nil)
	want(t, r, 200, "")
	var au api.StorageUsage
	_ = json.Unmarshal(r.body, &au)
	if au.UsedBytes != u.UsedBytes+5 || au.QuotaBytes != u.UsedBytes+5 || au.Region != wantRegion {
		t.Fatalf("admin usage %+v", au)
	}
	r = admin.do(admin.hc, "PUT", se.URL+"/api/v1/admin/users/"+s.userID+"/storage-quota?"+q.Encode(), strings.NewReader(`{"quota_bytes":null}`), http.Header{"Content-Type": {"application/json"}})
	want(t, r, 200, "")
	if u = s.usage(); u.QuotaBytes != config.DefaultStorageQuotaBytes {
		t.Fatalf("quota after reset %+v", u)
	}
	want(t, s.do(s.hc, "PUT", se.URL+"/api/v1/admin/users/"+s.userID+"/storage-quota", strings.NewReader(`{"quota_bytes":1}`), http.Header{"Content-Type": {"application/json"}}), 403, "forbidden")

	// An upload far past --max-body-bytes (1 MiB) is a file like any other.
	big := bytes.Repeat([]byte("0123456789abcdef"), 3<<16) // 3 MiB
	want(t, s.upload("three-mib.bin", big), 201, "")
	if r = s.download("three-mib.bin", nil); !bytes.Equal(r.body, big) {
		t.Fatal("3 MiB file differs")
	}

	// Every change is audited under the storage category.
	r = admin.do(admin.hc, "GET", se.URL+"/api/v1/admin/audit-logs?category=storage&page_size=200", nil, nil)
	want(t, r, 200, "")
	for _, action := range []string{"storage.upload", "storage.mkdir", "storage.rename", "storage.delete", "storage.quota_set"} {
		if !bytes.Contains(r.body, []byte(`"`+action+`"`)) {
			t.Errorf("no %s in the audit log", action)
		}
	}
}

func TestStorageDisabled(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	c, _ := env.As("user")
	_ = c
	u := env.NewUser("user")
	_, pair := env.Login(u)
	s := &storer{t: t, base: env.URL, token: pair.AccessToken, hc: env.HTTPClient(), plain: &http.Client{}}
	r, _ := s.list("", nil)
	want(t, r, 503, "storage_disabled")
	want(t, s.upload("x", []byte("x")), 503, "storage_disabled")
}

// fsTree lists every path under dir, for before/after comparisons.
func fsTree(t testing.TB, dir string) string {
	t.Helper()
	var out []string
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil {
			out = append(out, fmt.Sprintf("%s %d %v", p, fi.Size(), fi.Mode()))
		}
		return nil
	})
	return strings.Join(out, "\n")
}

var _ = time.Second
