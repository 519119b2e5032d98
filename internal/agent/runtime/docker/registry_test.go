package docker_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/image"
	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/agent/runtime/docker"
)

func digest(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }

// registry is the part of the distribution API (v2) a pull uses, behind
// HTTP basic auth, serving one image: a static busybox that sleeps.
type registry struct {
	user, pass string
	manifest   []byte
	blobs      map[string][]byte
}

func newRegistry(t *testing.T, user, pass string) (*registry, string) {
	t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skipf("no static busybox to build the registry's image from: %v", err)
	}
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(tw.WriteHeader(&tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755}))
	must(tw.WriteHeader(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bb))}))
	_, err = tw.Write(bb)
	must(err)
	must(tw.Close())
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, err = zw.Write(layer.Bytes())
	must(err)
	must(zw.Close())
	config, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Cmd": []string{"/bin/busybox", "sleep", "600"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{digest(layer.Bytes())}},
	})
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
		"config": map[string]any{"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config), "digest": digest(config)},
		"layers": []any{map[string]any{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": gz.Len(), "digest": digest(gz.Bytes())}},
	})
	r := &registry{user: user, pass: pass, manifest: manifest,
		blobs: map[string][]byte{digest(config): config, digest(gz.Bytes()): gz.Bytes()}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	srv := &http.Server{Handler: r}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	t.Cleanup(func() { srv.Close() })
	return r, ln.Addr().String()
}

func (r *registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if u, p, ok := req.BasicAuth(); !ok || u != r.user || p != r.pass {
		w.Header().Set("WWW-Authenticate", `Basic realm="gpuaas-test"`)
		http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
		return
	}
	switch {
	case req.URL.Path == "/v2/":
		w.WriteHeader(http.StatusOK)
	case strings.Contains(req.URL.Path, "/manifests/"):
		w.Header().Set("Content-Type", "application/vnd.docker.distribution.manifest.v2+json")
		w.Header().Set("Docker-Content-Digest", digest(r.manifest))
		w.Header().Set("Content-Length", fmt.Sprint(len(r.manifest)))
		if req.Method != http.MethodHead {
			w.Write(r.manifest) //nolint:errcheck // test server
		}
	case strings.Contains(req.URL.Path, "/blobs/"):
		b, ok := r.blobs[req.URL.Path[strings.LastIndex(req.URL.Path, "/")+1:]]
		if !ok {
			http.NotFound(w, req)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		if req.Method != http.MethodHead {
			w.Write(b) //nolint:errcheck // test server
		}
	default:
		http.NotFound(w, req)
	}
}

// TestPullWithConfiguredCredentials: an image on a registry that wants a
// login is refused without credentials (the allocation's reason says so)
// and pulled with the ones the operator configured (a Docker config.json).
func TestPullWithConfiguredCredentials(t *testing.T) {
	rt, cli := newRuntime(t)
	ctx := context.Background()
	_, addr := newRegistry(t, "gpuaas", "s3cret")
	ref := addr + "/test/sleeper:1"
	t.Cleanup(func() { _, _ = cli.ImageRemove(context.Background(), ref, image.RemoveOptions{Force: true}) })

	w := workload(t, rt)
	w.Image, w.Command, w.Ports = ref, nil, nil
	err := rt.Provision(ctx, w)
	if err == nil || !strings.Contains(err.Error(), "pull image "+ref) {
		t.Fatalf("pull without credentials: %v", err)
	}
	assertGone(t, cli, w.AllocationID)

	cfg := filepath.Join(t.TempDir(), "config.json")
	auth := base64.StdEncoding.EncodeToString([]byte("gpuaas:s3cret"))
	if err := os.WriteFile(cfg, []byte(`{"auths":{"http://`+addr+`":{"auth":"`+auth+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if rt.Credentials, err = docker.LoadCredentials(cfg); err != nil {
		t.Fatal(err)
	}
	var pulled []docker.PullProgress
	rt.OnPull = func(_ uuid.UUID, p docker.PullProgress) { pulled = append(pulled, p) }
	if err := rt.Provision(ctx, w); err != nil {
		t.Fatalf("pull with credentials: %v", err)
	}
	if s, found, err := rt.Inspect(ctx, w.AllocationID); err != nil || !found || !s.Running {
		t.Fatalf("container after an authenticated pull: %+v %v %v", s, found, err)
	}
	if len(pulled) == 0 || last(pulled).Status != "pulled" || last(pulled).Total == 0 || last(pulled).Current != last(pulled).Total {
		t.Errorf("pull progress: %+v", pulled)
	}
}

func last[T any](l []T) T { return l[len(l)-1] }
