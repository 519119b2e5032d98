package docker_test

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/agent/runtime/docker"
	"github.com/gpuaas/gpuaas/internal/agent/runtime/docker/dockertest"
)

// TestPullWithConfiguredCredentials: an image on a registry that wants a
// login is refused without credentials (the allocation's reason says so)
// and pulled with the ones the operator configured (a Docker config.json).
func TestPullWithConfiguredCredentials(t *testing.T) {
	rt, cli := newRuntime(t)
	ctx := context.Background()
	addr := dockertest.StartRegistry(t, "gpuaas", "s3cret").Addr
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

// TestSlowPullGoesOnInTheBackground: a provision whose image takes longer
// than PullWait answers ErrPulling with the progress and leaves nothing
// running; the pull goes on, shared by a second allocation of the same
// image, and a repeat of each provision then starts its container.
func TestSlowPullGoesOnInTheBackground(t *testing.T) {
	rt, cli := newRuntime(t)
	ctx := context.Background()
	reg := dockertest.StartRegistry(t, "u", "p")
	reg.BlobDelay = 1500 * time.Millisecond
	addr := reg.Addr
	ref := addr + "/test/slow:1"
	t.Cleanup(func() { _, _ = cli.ImageRemove(context.Background(), ref, image.RemoveOptions{Force: true}) })
	rt.Credentials = docker.Credentials{addr: {Username: "u", Password: "p", ServerAddress: addr}}
	rt.PullWait = 200 * time.Millisecond
	a, b := workload(t, rt), workload(t, rt)
	for _, w := range []*docker.Workload{&a, &b} {
		w.Image, w.Command, w.Ports = ref, nil, nil
		if err := rt.Provision(ctx, *w); !errors.Is(err, docker.ErrPulling) || !strings.Contains(err.Error(), ref) {
			t.Fatalf("provision during the pull: %v, want ErrPulling naming the image", err)
		}
		if _, found, _ := rt.Inspect(ctx, w.AllocationID); found {
			t.Fatal("a container exists before its image")
		}
	}
	rt.PullWait = 30 * time.Second
	for _, w := range []docker.Workload{a, b} {
		if err := rt.Provision(ctx, w); err != nil {
			t.Fatalf("provision once the pull is done: %v", err)
		}
		if s, found, err := rt.Inspect(ctx, w.AllocationID); err != nil || !found || !s.Running {
			t.Fatalf("container after the pull: %+v %v %v", s, found, err)
		}
	}
}

func last[T any](l []T) T { return l[len(l)-1] }
