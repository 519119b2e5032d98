package docker_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/agent/runtime/docker"
	"github.com/gpuaas/gpuaas/internal/agent/runtime/docker/dockertest"
)

func newRuntime(t *testing.T) (*docker.Runtime, *client.Client) {
	t.Helper()
	host := dockertest.Host(t)
	rt, err := docker.New(context.Background(), host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	rt.StopTimeout = time.Second
	cli, err := client.NewClientWithOpts(client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return rt, cli
}

// workload is a busybox allocation that serves /www on port 8080, with
// its cleanup registered.
func workload(t *testing.T, rt *docker.Runtime) docker.Workload {
	t.Helper()
	w := docker.Workload{
		AllocationID: uuid.New(),
		GPUUUIDs:     []string{"GPU-" + uuid.NewString(), "GPU-" + uuid.NewString()},
		Image:        dockertest.Image,
		Command:      []string{"httpd", "-f", "-p", "8080", "-h", "/www"},
		Env:          map[string]string{"GREETING": "hi"},
		Ports:        []docker.Port{{Name: "web", Port: 8080}},
		VCPU:         64, // more than this host has: a CFS quota is not capped
		MemoryMiB:    256,
	}
	t.Cleanup(func() { _ = rt.Release(context.Background(), w.AllocationID) })
	return w
}

func TestProvisionIsolatesAndRelease(t *testing.T) {
	rt, cli := newRuntime(t)
	ctx := context.Background()
	w := workload(t, rt)
	if err := rt.Provision(ctx, w); err != nil {
		t.Fatalf("provision: %v", err)
	}
	name := docker.Name(w.AllocationID)
	c, err := cli.ContainerInspect(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	hc := c.HostConfig
	if len(hc.DeviceRequests) != 1 {
		t.Fatalf("device requests: %+v", hc.DeviceRequests)
	}
	dr := hc.DeviceRequests[0]
	if dr.Driver != "nvidia" || !slices.Equal(dr.DeviceIDs, w.GPUUUIDs) || dr.Count != 0 ||
		len(dr.Capabilities) != 1 || !slices.Equal(dr.Capabilities[0], []string{"gpu"}) {
		t.Errorf("device request: %+v, want exactly %v with capability gpu", dr, w.GPUUUIDs)
	}
	if !slices.Contains(c.Config.Env, "NVIDIA_VISIBLE_DEVICES="+strings.Join(w.GPUUUIDs, ",")) ||
		!slices.Contains(c.Config.Env, "GREETING=hi") {
		t.Errorf("env: %v", c.Config.Env)
	}
	if hc.CPUPeriod != 100_000 || hc.CPUQuota != 64*100_000 {
		t.Errorf("cpu: period %d quota %d", hc.CPUPeriod, hc.CPUQuota)
	}
	if hc.Memory != 256<<20 || hc.MemorySwap != 256<<20 {
		t.Errorf("memory %d swap %d", hc.Memory, hc.MemorySwap)
	}
	if hc.PidsLimit == nil || *hc.PidsLimit != docker.DefaultPidsLimit {
		t.Errorf("pids limit: %v", hc.PidsLimit)
	}
	if hc.Privileged || !slices.Equal(hc.CapDrop, []string{"ALL"}) || !slices.Equal(caps(hc.CapAdd), caps(docker.DefaultCapAdd)) ||
		!slices.Contains(hc.SecurityOpt, "no-new-privileges") {
		t.Errorf("privileges: privileged %v drop %v add %v secopt %v", hc.Privileged, hc.CapDrop, hc.CapAdd, hc.SecurityOpt)
	}
	if string(hc.NetworkMode) != name || hc.PidMode.IsHost() || hc.IpcMode.IsHost() || hc.NetworkMode.IsHost() {
		t.Errorf("namespaces: network %q pid %q ipc %q", hc.NetworkMode, hc.PidMode, hc.IpcMode)
	}
	if c.Config.Labels[docker.LabelAllocation] != w.AllocationID.String() {
		t.Errorf("labels: %v", c.Config.Labels)
	}
	for _, b := range c.NetworkSettings.Ports["8080/tcp"] {
		if b.HostIP != "127.0.0.1" {
			t.Errorf("port published on %q, want 127.0.0.1 only", b.HostIP)
		}
	}
	port, err := rt.PublishedPort(ctx, w.AllocationID, w.Ports[0])
	if err != nil || port == 0 {
		t.Fatalf("published port: %d %v", port, err)
	}
	body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/index.html", port))
	if strings.TrimSpace(body) != "ok" {
		t.Errorf("GET through the published port: %q", body)
	}

	// A repeat adopts: same container.
	if err := rt.Provision(ctx, w); err != nil {
		t.Fatalf("provision again: %v", err)
	}
	again, _ := cli.ContainerInspect(ctx, name)
	if again.ID != c.ID {
		t.Errorf("repeat provision made a new container %s (was %s)", again.ID, c.ID)
	}

	if err := rt.Release(ctx, w.AllocationID); err != nil {
		t.Fatalf("release: %v", err)
	}
	assertGone(t, cli, w.AllocationID)
	if err := rt.Release(ctx, w.AllocationID); err != nil {
		t.Fatalf("release again: %v", err)
	}
	if _, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port)); err == nil {
		t.Errorf("port %d still answers after release", port)
	}
}

func TestNoGPUsIsVoid(t *testing.T) {
	rt, cli := newRuntime(t)
	ctx := context.Background()
	w := workload(t, rt)
	w.GPUUUIDs = nil
	if err := rt.Provision(ctx, w); err != nil {
		t.Fatal(err)
	}
	c, _ := cli.ContainerInspect(ctx, docker.Name(w.AllocationID))
	if len(c.HostConfig.DeviceRequests) != 0 || !slices.Contains(c.Config.Env, "NVIDIA_VISIBLE_DEVICES=void") {
		t.Errorf("no GPUs: device requests %+v env %v", c.HostConfig.DeviceRequests, c.Config.Env)
	}
}

// caps sorts capability names without the CAP_ prefix the engine adds.
func caps(l []string) []string {
	out := make([]string, len(l))
	for i, c := range l {
		out[i] = strings.TrimPrefix(c, "CAP_")
	}
	slices.Sort(out)
	return out
}

func assertGone(t *testing.T, cli *client.Client, id uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	if _, err := cli.ContainerInspect(ctx, docker.Name(id)); !errdefs.IsNotFound(err) {
		t.Errorf("container still there after release (err %v)", err)
	}
	if _, err := cli.NetworkInspect(ctx, docker.Name(id), network.InspectOptions{}); !errdefs.IsNotFound(err) {
		t.Errorf("network still there after release (err %v)", err)
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAdoptAfterRestart: a new runtime (an agent restarted) lists the
// container by label and a repeated Provision adopts it.
func TestAdoptAfterRestart(t *testing.T) {
	rt, cli := newRuntime(t)
	ctx := context.Background()
	w := workload(t, rt)
	if err := rt.Provision(ctx, w); err != nil {
		t.Fatal(err)
	}
	before, _ := cli.ContainerInspect(ctx, docker.Name(w.AllocationID))
	rt2, _ := newRuntime(t)
	list, err := rt2.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, s := range list {
		if s.AllocationID == w.AllocationID {
			found = s.Running
		}
	}
	if !found {
		t.Fatalf("restarted runtime does not list %s as running: %+v", w.AllocationID, list)
	}
	if err := rt2.Provision(ctx, w); err != nil {
		t.Fatal(err)
	}
	after, _ := cli.ContainerInspect(ctx, docker.Name(w.AllocationID))
	if after.ID != before.ID {
		t.Errorf("adoption made a new container")
	}
}

// TestExitAndOOMReported: a container that exits, or is killed for its
// memory, says so.
func TestExitAndOOMReported(t *testing.T) {
	rt, _ := newRuntime(t)
	ctx := context.Background()
	exit := workload(t, rt)
	exit.Command = []string{"sh", "-c", "sleep 0.5; exit 3"}
	oom := workload(t, rt)
	oom.MemoryMiB = 16
	oom.Command = []string{"sh", "-c", "sleep 0.5; x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo ${#x}"}
	for _, w := range []docker.Workload{exit, oom} {
		if err := rt.Provision(ctx, w); err != nil {
			t.Fatalf("provision: %v", err)
		}
	}
	waitExited := func(id uuid.UUID) docker.State {
		deadline := time.Now().Add(30 * time.Second)
		for {
			s, found, err := rt.Inspect(ctx, id)
			if err != nil || !found {
				t.Fatalf("inspect: found %v err %v", found, err)
			}
			if !s.Running {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s still running", id)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if s := waitExited(exit.AllocationID); s.ExitCode != 3 || s.OOMKilled {
		t.Errorf("exit: %+v, want code 3 and no OOM", s)
	}
	if s := waitExited(oom.AllocationID); !s.OOMKilled {
		t.Errorf("oom: %+v, want OOMKilled", s)
	}
	// A provision that meets the exited container fails with the reason
	// and leaves nothing behind.
	err := rt.Provision(ctx, exit)
	if !errors.Is(err, docker.ErrExited) || !strings.Contains(err.Error(), "code 3") {
		t.Errorf("provision of an exited container: %v", err)
	}
	_, cli := newRuntime(t)
	assertGone(t, cli, exit.AllocationID)
}

// TestPullFailureLeavesNothing: an image no registry serves fails the
// provision with the reason and nothing stays on the engine.
func TestPullFailureLeavesNothing(t *testing.T) {
	rt, cli := newRuntime(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rt.PullWait = time.Minute // the failure, not a pull still under way
	w := workload(t, rt)
	w.Image = "registry.invalid/gpuaas/nope:1"
	err := rt.Provision(ctx, w)
	if err == nil || !strings.Contains(err.Error(), "pull image registry.invalid/gpuaas/nope:1") {
		t.Fatalf("provision with a missing image: %v", err)
	}
	assertGone(t, cli, w.AllocationID)
}

func TestRefusesUnmanaged(t *testing.T) {
	rt, cli := newRuntime(t)
	ctx := context.Background()
	id := uuid.New()
	name := docker.Name(id)
	if _, err := cli.NetworkCreate(ctx, name, network.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.NetworkRemove(context.Background(), name) })
	w := workload(t, rt)
	w.AllocationID = id
	if err := rt.Provision(ctx, w); !errors.Is(err, docker.ErrNotManaged) {
		t.Errorf("provision over a foreign network: %v", err)
	}
	if err := rt.Release(ctx, id); !errors.Is(err, docker.ErrNotManaged) {
		t.Errorf("release of a foreign network: %v", err)
	}
	if _, err := cli.NetworkInspect(ctx, name, network.InspectOptions{}); err != nil {
		t.Errorf("foreign network touched: %v", err)
	}
}

func TestInvalidWorkload(t *testing.T) {
	rt, _ := newRuntime(t)
	ctx := context.Background()
	for name, mut := range map[string]func(*docker.Workload){
		"no image":      func(w *docker.Workload) { w.Image = "" },
		"platform env":  func(w *docker.Workload) { w.Env = map[string]string{"NVIDIA_VISIBLE_DEVICES": "all"} },
		"bad port":      func(w *docker.Workload) { w.Ports = []docker.Port{{Name: "web", Port: 70000}} },
		"bad port name": func(w *docker.Workload) { w.Ports = []docker.Port{{Name: "Web!", Port: 80}} },
		"bad gpu":       func(w *docker.Workload) { w.GPUUUIDs = []string{"all; rm"} },
	} {
		w := workload(t, rt)
		mut(&w)
		if err := rt.Provision(ctx, w); !errors.Is(err, docker.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// execIn runs cmd in container name and returns its output and exit code.
func execIn(t *testing.T, cli *client.Client, name string, cmd ...string) (string, int) {
	t.Helper()
	ctx := context.Background()
	ex, err := cli.ContainerExecCreate(ctx, name, container.ExecOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	att, err := cli.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer att.Close()
	var out strings.Builder
	if _, err := stdcopy.StdCopy(&out, &out, att.Reader); err != nil {
		t.Fatal(err)
	}
	in, err := cli.ContainerExecInspect(ctx, ex.ID)
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), in.ExitCode
}

// TestTenantsCannotReachEachOther (busybox's wget -T crashes in Debian's
// static build, hence timeout): two allocations on one engine, each on
// its own network; one cannot open the other's port, by its address or
// through the published loopback port, while each reaches its own.
func TestTenantsCannotReachEachOther(t *testing.T) {
	rt, cli := newRuntime(t)
	ctx := context.Background()
	a, b := workload(t, rt), workload(t, rt)
	for _, w := range []docker.Workload{a, b} {
		if err := rt.Provision(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	ca, err := cli.ContainerInspect(ctx, docker.Name(a.AllocationID))
	if err != nil {
		t.Fatal(err)
	}
	ipA := ca.NetworkSettings.Networks[docker.Name(a.AllocationID)].IPAddress
	portA, _ := rt.PublishedPort(ctx, a.AllocationID, a.Ports[0])
	if ipA == "" || portA == 0 {
		t.Fatalf("a: ip %q port %d", ipA, portA)
	}
	if out, code := execIn(t, cli, docker.Name(a.AllocationID), "timeout", "3", "wget", "-q", "-O", "-", "http://"+ipA+":8080/index.html"); code != 0 || strings.TrimSpace(out) != "ok" {
		t.Fatalf("a cannot reach itself (%d %q): the check below would prove nothing", code, out)
	}
	for _, url := range []string{fmt.Sprintf("http://%s:8080/index.html", ipA), fmt.Sprintf("http://127.0.0.1:%d/index.html", portA)} {
		if out, code := execIn(t, cli, docker.Name(b.AllocationID), "timeout", "3", "wget", "-q", "-O", "-", url); code == 0 {
			t.Errorf("b reached a at %s: %q", url, out)
		}
	}
}
