package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/go-connections/nat"
	"github.com/google/uuid"
)

// MinAPIVersion is the oldest Engine API this runtime drives (Docker
// 20.10): device requests and the cgroup options it sets are all there.
const MinAPIVersion = "1.41"

// LabelAllocation marks what this runtime created, with the allocation id.
const LabelAllocation = "gpuaas.allocation"

// LabelPorts and LabelHealth keep a container's ports (JSON of []Port)
// and health probe (JSON of Health) on the container itself, so readiness
// is probed after an agent restart too.
const (
	LabelPorts  = "gpuaas.ports"
	LabelHealth = "gpuaas.health"
)

// LabelWorkspace records the host directory bind-mounted at
// WorkspaceTarget (the owner's storage namespace), so that what a container
// mounts can be read off it after an agent restart.
const LabelWorkspace = "gpuaas.workspace"

// WorkspaceTarget is where a workload's Workspace is mounted.
const WorkspaceTarget = "/workspace"

// LabelScope marks what a runtime with a Scope created, with the scope.
const LabelScope = "gpuaas.scope"

// DefaultCapAdd is the short list of capabilities a container keeps after
// CapDrop ALL: what an ordinary image's entrypoint needs to own its files,
// signal its children and drop to an unprivileged user. Nothing that
// reaches the host (SYS_ADMIN, NET_ADMIN, SYS_PTRACE, MKNOD, …).
var DefaultCapAdd = []string{"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "NET_BIND_SERVICE"}

// DefaultPidsLimit bounds a container's processes when Runtime.PidsLimit
// is zero.
const DefaultPidsLimit = 4096

// cpuPeriod is the CFS period, in microseconds, of a container's quota.
const cpuPeriod = 100_000

// Errors a caller may test for with errors.Is.
var (
	// ErrInvalid is a workload this runtime refuses.
	ErrInvalid = errors.New("invalid workload")
	// ErrNotManaged is a container or network of an allocation's name that
	// this runtime did not create for it. It is never modified or removed.
	ErrNotManaged = errors.New("not managed by gpuaas for this allocation")
	// ErrExited is a container that stopped before Provision saw it run.
	ErrExited = errors.New("container exited")
	// ErrPulling is a provision waiting for its image: the pull goes on in
	// the background, and a repeat of the provision carries on from where
	// it is (or fails with the pull's error).
	ErrPulling = errors.New("pulling image")
)

// Port is a port the workload serves, published on 127.0.0.1.
type Port struct {
	Name     string `json:"name"`
	Port     int    `json:"port"`
	Protocol string `json:"protocol,omitempty"` // tcp (default) or udp
}

// Workload is one allocation as this runtime sees it.
type Workload struct {
	AllocationID uuid.UUID
	// GPUUUIDs are the reserved GPUs, exactly the ones the container may
	// use.
	GPUUUIDs []string
	Image    string
	// Command replaces the image's CMD when not empty.
	Command []string
	Env     map[string]string
	Ports   []Port
	// VCPU and MemoryMiB come from the SKU; zero means no limit.
	VCPU      int
	MemoryMiB int64
	// Health is where readiness is probed (see Readiness); nil: every port
	// is ready once it accepts a connection.
	Health *Health
	// Workspace is a host directory (the owner's storage namespace on the
	// node's shared filesystem) bind-mounted read-write at
	// WorkspaceTarget; empty mounts nothing. It must be absolute and clean:
	// the caller resolved it (no links, nothing outside the storage root).
	Workspace string
}

// Health is an HTTP readiness probe: GET Path on container port Port.
type Health struct {
	Port int    `json:"port"`
	Path string `json:"path"`
}

// Runtime runs workloads as containers. Create it with New.
type Runtime struct {
	cli *client.Client
	// PidsLimit bounds each container's processes; zero means
	// DefaultPidsLimit.
	PidsLimit int64
	// Credentials are the registry logins sent with pulls (the agent's
	// --docker-config); nil pulls anonymously.
	Credentials Credentials
	// OnPull, if set, is told the progress of an image pull.
	OnPull func(allocationID uuid.UUID, p PullProgress)
	// StopTimeout is the grace a container gets on Release; default 10 s.
	StopTimeout time.Duration
	// PullWait is how long Provision waits for a missing image before it
	// answers ErrPulling (the pull goes on); default 20 s. PullTimeout
	// bounds a whole pull; default 1 h.
	PullWait    time.Duration
	PullTimeout time.Duration
	// Scope, when set, is labelled on what this runtime creates, and List
	// and Exited see only containers with it: runtimes sharing one engine
	// (tests side by side) leave each other's containers alone. An agent
	// owns its engine and leaves it empty.
	Scope string

	mu    sync.Mutex
	pulls map[string]*pull
	addrs map[appKey]string // AppAddr's answers
}

// New connects to the engine at host (a DOCKER_HOST value such as
// unix:///var/run/docker.sock), negotiates the API version and refuses an
// engine older than MinAPIVersion.
func New(ctx context.Context, host string) (*Runtime, error) {
	opts := []client.Opt{client.WithAPIVersionNegotiation()}
	if host != "" {
		opts = append(opts, client.WithHost(host))
	}
	cli, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker client for %s: %w", host, err)
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	ping, err := cli.Ping(pctx)
	if err != nil {
		cli.Close()
		return nil, fmt.Errorf("reach the docker engine at %s: %w", host, err)
	}
	cli.NegotiateAPIVersionPing(ping)
	if v := cli.ClientVersion(); versionLess(v, MinAPIVersion) {
		cli.Close()
		return nil, fmt.Errorf("docker engine at %s speaks API %s; need %s (Docker 20.10) or newer", host, v, MinAPIVersion)
	}
	return &Runtime{cli: cli, pulls: map[string]*pull{}}, nil
}

// Close releases the client's connections.
func (r *Runtime) Close() error { return r.cli.Close() }

// APIVersion is the negotiated Engine API version.
func (r *Runtime) APIVersion() string { return r.cli.ClientVersion() }

func versionLess(a, b string) bool {
	pa, pb := strings.SplitN(a, ".", 2), strings.SplitN(b, ".", 2)
	if len(pa) != 2 || len(pb) != 2 {
		return a < b
	}
	ma, _ := strconv.Atoi(pa[0])
	mb, _ := strconv.Atoi(pb[0])
	if ma != mb {
		return ma < mb
	}
	na, _ := strconv.Atoi(pa[1])
	nb, _ := strconv.Atoi(pb[1])
	return na < nb
}

// Name is the container's and the network's name for an allocation.
func Name(id uuid.UUID) string { return "gpuaas-" + id.String() }

var (
	gpuUUIDRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$`)
	envKeyRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
	portNameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
)

// PlatformEnv are variables the runtime sets itself; a workload's Env may
// not name them.
var PlatformEnv = []string{"NVIDIA_VISIBLE_DEVICES", "CUDA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES", "GPUAAS_ALLOCATION_ID"}

// IsPlatformEnv says whether key is one of PlatformEnv or under the
// GPUAAS_ prefix.
func IsPlatformEnv(key string) bool {
	for _, k := range PlatformEnv {
		if strings.EqualFold(k, key) {
			return true
		}
	}
	return strings.HasPrefix(strings.ToUpper(key), "GPUAAS_")
}

func (w Workload) check() error {
	if w.AllocationID == uuid.Nil {
		return fmt.Errorf("%w: allocation id is missing", ErrInvalid)
	}
	if strings.TrimSpace(w.Image) == "" {
		return fmt.Errorf("%w: image is missing", ErrInvalid)
	}
	for _, g := range w.GPUUUIDs {
		if !gpuUUIDRE.MatchString(g) {
			return fmt.Errorf("%w: GPU uuid %q", ErrInvalid, g)
		}
	}
	for k := range w.Env {
		if !envKeyRE.MatchString(k) {
			return fmt.Errorf("%w: env name %q", ErrInvalid, k)
		}
		if IsPlatformEnv(k) {
			return fmt.Errorf("%w: env %s is set by the platform", ErrInvalid, k)
		}
	}
	seen := map[string]bool{}
	for _, p := range w.Ports {
		if !portNameRE.MatchString(p.Name) || seen[p.Name] {
			return fmt.Errorf("%w: port name %q", ErrInvalid, p.Name)
		}
		seen[p.Name] = true
		if p.Port < 1 || p.Port > 65535 {
			return fmt.Errorf("%w: port %d", ErrInvalid, p.Port)
		}
		if p.Protocol != "" && p.Protocol != "tcp" && p.Protocol != "udp" {
			return fmt.Errorf("%w: port protocol %q", ErrInvalid, p.Protocol)
		}
	}
	if w.VCPU < 0 || w.MemoryMiB < 0 {
		return fmt.Errorf("%w: negative limits", ErrInvalid)
	}
	if w.Workspace != "" && (!filepath.IsAbs(w.Workspace) || filepath.Clean(w.Workspace) != w.Workspace || strings.ContainsAny(w.Workspace, ":,\x00")) {
		return fmt.Errorf("%w: workspace %q", ErrInvalid, w.Workspace)
	}
	return nil
}

// visibleDevices is NVIDIA_VISIBLE_DEVICES for w: its GPUs, or "void"
// (the toolkit exposes none) without any.
func visibleDevices(w Workload) string {
	if len(w.GPUUUIDs) == 0 {
		return "void"
	}
	return strings.Join(w.GPUUUIDs, ",")
}

func (p Port) natPort() nat.Port {
	proto := p.Protocol
	if proto == "" {
		proto = "tcp"
	}
	return nat.Port(strconv.Itoa(p.Port) + "/" + proto)
}

// Spec is the container configuration Provision creates for w, exported so
// that the isolation it promises can be read (and tested) in one place.
func (r *Runtime) Spec(w Workload) (*container.Config, *container.HostConfig) {
	name := Name(w.AllocationID)
	env := []string{
		"NVIDIA_VISIBLE_DEVICES=" + visibleDevices(w),
		"GPUAAS_ALLOCATION_ID=" + w.AllocationID.String(),
	}
	keys := make([]string, 0, len(w.Env))
	for k := range w.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+w.Env[k])
	}
	exposed := nat.PortSet{}
	bindings := nat.PortMap{}
	for _, p := range w.Ports {
		exposed[p.natPort()] = struct{}{}
		bindings[p.natPort()] = []nat.PortBinding{{HostIP: "127.0.0.1"}}
	}
	labels := r.labels(w.AllocationID)
	if len(w.Ports) > 0 {
		b, _ := json.Marshal(w.Ports)
		labels[LabelPorts] = string(b)
	}
	if w.Health != nil {
		b, _ := json.Marshal(w.Health)
		labels[LabelHealth] = string(b)
	}
	var mounts []mount.Mount
	if w.Workspace != "" {
		labels[LabelWorkspace] = w.Workspace
		mounts = []mount.Mount{{Type: mount.TypeBind, Source: w.Workspace, Target: WorkspaceTarget,
			BindOptions: &mount.BindOptions{Propagation: mount.PropagationRPrivate}}}
	}
	cfg := &container.Config{
		Image:        w.Image,
		Env:          env,
		Labels:       labels,
		ExposedPorts: exposed,
		Hostname:     "g" + strings.ReplaceAll(w.AllocationID.String(), "-", "")[:12],
	}
	if len(w.Command) > 0 {
		cfg.Cmd = w.Command
	}
	pids := r.PidsLimit
	if pids <= 0 {
		pids = DefaultPidsLimit
	}
	res := container.Resources{PidsLimit: &pids}
	if w.VCPU > 0 {
		res.CPUPeriod = cpuPeriod
		res.CPUQuota = int64(w.VCPU) * cpuPeriod
	}
	if w.MemoryMiB > 0 {
		res.Memory = w.MemoryMiB << 20
		res.MemorySwap = res.Memory // no swap beyond the memory limit
	}
	if len(w.GPUUUIDs) > 0 {
		res.DeviceRequests = []container.DeviceRequest{{
			Driver: "nvidia", DeviceIDs: append([]string(nil), w.GPUUUIDs...), Capabilities: [][]string{{"gpu"}},
		}}
	}
	host := &container.HostConfig{
		NetworkMode:   container.NetworkMode(name),
		PortBindings:  bindings,
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		CapDrop:       []string{"ALL"},
		CapAdd:        append([]string(nil), DefaultCapAdd...),
		SecurityOpt:   []string{"no-new-privileges"},
		Privileged:    false,
		IpcMode:       container.IPCModePrivate,
		Init:          boolPtr(true),
		LogConfig:     container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "10m", "max-file": "3"}},
		Resources:     res,
		Mounts:        mounts,
	}
	return cfg, host
}

func boolPtr(b bool) *bool { return &b }

// labels are what this runtime puts on a container or network of id.
func (r *Runtime) labels(id uuid.UUID) map[string]string {
	l := map[string]string{LabelAllocation: id.String()}
	if r.Scope != "" {
		l[LabelScope] = r.Scope
	}
	return l
}

// listFilters select this runtime's containers, plus more.
func (r *Runtime) listFilters(more ...filters.KeyValuePair) filters.Args {
	args := append([]filters.KeyValuePair{filters.Arg("label", LabelAllocation)}, more...)
	if r.Scope != "" {
		args = append(args, filters.Arg("label", LabelScope+"="+r.Scope))
	}
	return filters.NewArgs(args...)
}

func managed(labels map[string]string, id uuid.UUID) bool {
	return labels[LabelAllocation] == id.String()
}

// Provision makes w real: its network, its image, and its container
// running. A repeat finds what is there and adopts it: a running container
// is left as it is, a created one is started.
//
// A provision that fails (a pull, a create, a start, a container that
// exits at once) removes what it made before it returns, so a failed
// allocation leaves nothing on the node; the error says why in words a
// user can act on.
func (r *Runtime) Provision(ctx context.Context, w Workload) error {
	if err := w.check(); err != nil {
		return err
	}
	err := r.provision(ctx, w)
	if err != nil && !errors.Is(err, ErrNotManaged) && !errors.Is(err, ErrPulling) && ctx.Err() == nil {
		if rerr := r.Release(context.WithoutCancel(ctx), w.AllocationID); rerr != nil {
			err = fmt.Errorf("%w (and cleaning up: %v)", err, rerr)
		}
	}
	return err
}

func (r *Runtime) provision(ctx context.Context, w Workload) error {
	name := Name(w.AllocationID)
	c, err := r.cli.ContainerInspect(ctx, name)
	switch {
	case errdefs.IsNotFound(err):
		if err := r.ensureNetwork(ctx, w.AllocationID); err != nil {
			return err
		}
		if err := r.ensureImage(ctx, w); err != nil {
			return err
		}
		cfg, host := r.Spec(w)
		if _, err := r.cli.ContainerCreate(ctx, cfg, host, nil, nil, name); err != nil && !errdefs.IsConflict(err) {
			return fmt.Errorf("create container %s: %w", name, err)
		}
		if c, err = r.cli.ContainerInspect(ctx, name); err != nil {
			return fmt.Errorf("inspect container %s: %w", name, err)
		}
	case err != nil:
		return fmt.Errorf("inspect container %s: %w", name, err)
	}
	if c.Config == nil || !managed(c.Config.Labels, w.AllocationID) {
		return fmt.Errorf("%w: container %s", ErrNotManaged, name)
	}
	if c.State != nil && c.State.Running {
		return nil
	}
	if c.State != nil && c.State.Status != "created" {
		return exitedError(stateOf(c))
	}
	if err := r.cli.ContainerStart(ctx, name, container.StartOptions{}); err != nil {
		return fmt.Errorf("start container %s: %w", name, err)
	}
	c, err = r.cli.ContainerInspect(ctx, name)
	if err != nil {
		return fmt.Errorf("inspect container %s: %w", name, err)
	}
	if c.State == nil || !c.State.Running {
		return exitedError(stateOf(c))
	}
	return nil
}

func exitedError(s State) error {
	switch {
	case s.OOMKilled:
		return fmt.Errorf("%w: killed for exceeding its memory limit (OOM), exit code %d", ErrExited, s.ExitCode)
	case s.Error != "":
		return fmt.Errorf("%w with code %d: %s", ErrExited, s.ExitCode, s.Error)
	}
	return fmt.Errorf("%w with code %d", ErrExited, s.ExitCode)
}

func (r *Runtime) ensureNetwork(ctx context.Context, id uuid.UUID) error {
	name := Name(id)
	n, err := r.cli.NetworkInspect(ctx, name, network.InspectOptions{})
	if err == nil {
		if !managed(n.Labels, id) {
			return fmt.Errorf("%w: network %s", ErrNotManaged, name)
		}
		return nil
	}
	if !errdefs.IsNotFound(err) {
		return fmt.Errorf("inspect network %s: %w", name, err)
	}
	_, err = r.cli.NetworkCreate(ctx, name, network.CreateOptions{
		Driver: "bridge",
		Labels: r.labels(id),
		Options: map[string]string{
			"com.docker.network.bridge.enable_icc":        "false",
			"com.docker.network.bridge.host_binding_ipv4": "127.0.0.1",
		},
	})
	if err != nil && !errdefs.IsConflict(err) {
		return fmt.Errorf("create network %s: %w", name, err)
	}
	return nil
}

// Release stops and removes w's container and network. What is not there
// is not an error; what is there but not ours is ErrNotManaged.
func (r *Runtime) Release(ctx context.Context, id uuid.UUID) error {
	if id == uuid.Nil {
		return fmt.Errorf("%w: allocation id is missing", ErrInvalid)
	}
	r.Forget(id)
	name := Name(id)
	c, err := r.cli.ContainerInspect(ctx, name)
	switch {
	case errdefs.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("inspect container %s: %w", name, err)
	case c.Config == nil || !managed(c.Config.Labels, id):
		return fmt.Errorf("%w: container %s", ErrNotManaged, name)
	default:
		grace := r.StopTimeout
		if grace <= 0 {
			grace = 10 * time.Second
		}
		secs := int(grace.Seconds())
		if err := r.cli.ContainerStop(ctx, name, container.StopOptions{Timeout: &secs}); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("stop container %s: %w", name, err)
		}
		err := r.cli.ContainerRemove(ctx, name, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !errdefs.IsNotFound(err) && !isRemovalInProgress(err) {
			return fmt.Errorf("remove container %s: %w", name, err)
		}
	}
	n, err := r.cli.NetworkInspect(ctx, name, network.InspectOptions{})
	switch {
	case errdefs.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("inspect network %s: %w", name, err)
	case !managed(n.Labels, id):
		return fmt.Errorf("%w: network %s", ErrNotManaged, name)
	}
	if err := r.cli.NetworkRemove(ctx, name); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("remove network %s: %w", name, err)
	}
	return nil
}

func isRemovalInProgress(err error) bool {
	return strings.Contains(err.Error(), "removal of container") && strings.Contains(err.Error(), "already in progress")
}
