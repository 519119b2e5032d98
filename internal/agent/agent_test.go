package agent_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agent"
	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/gpu"
	"github.com/gpuaas/gpuaas/internal/inventory"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/sdk"
)

var ctx = context.Background()

// h200 is a discoverer that answers with the real busy H200 capture; the
// kernel log is empty.
func h200(t *testing.T) gpu.Discoverer {
	xml, err := os.ReadFile("../gpu/testdata/h200-busy.xml")
	if err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(t.TempDir(), "kern.log")
	if err := os.WriteFile(log, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return gpu.NvidiaSMI{Path: "nvidia-smi", KernelLog: log,
		Run: func(context.Context, string, ...string) ([]byte, error) { return xml, nil }}
}

// eventually polls cond every 20 ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type running struct {
	dir    string
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

func start(cfg agent.Config) *running {
	c, cancel := context.WithCancel(ctx)
	r := &running{dir: cfg.DataDir, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- agent.Run(c, cfg) }()
	return r
}

func (r *running) stop(t *testing.T) {
	r.once.Do(func() {
		r.cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Error("agent did not stop")
		}
	})
}

// joinableNode registers a node called hostname in a new region r1 of
// env, as an admin, and issues its join token.
func joinableNode(t *testing.T, env *servertest.Env, hostname string) (admin *sdk.Client, node api.Node, jt api.JoinToken) {
	t.Helper()
	if err := env.App.Inventory.SeedRegion(ctx, inventory.Region{ID: "r1", Name: "R1"}); err != nil {
		t.Fatal(err)
	}
	admin, _ = env.As("admin")
	node, err := admin.AdminCreateNode(ctx, api.CreateNodeRequest{Hostname: hostname, Region: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	if jt, err = admin.AdminIssueJoinToken(ctx, node.Id); err != nil {
		t.Fatal(err)
	}
	return admin, node, jt
}

// TestAgentJoinsReportsAndGoesOffline: the agent trades its join token,
// the node comes online with the GPU from the real capture, a killed agent
// takes the node offline within the deadline, and a restarted one comes
// back with its saved credential.
func TestAgentJoinsReportsAndGoesOffline(t *testing.T) {
	// Not parallel: it times how soon the node notices, against a bound of
	// a few heartbeats, which a busy process would miss.
	env := servertest.Start(t, func(c *config.Server) { c.HeartbeatInterval = 100 * time.Millisecond })
	admin, node, jt := joinableNode(t, env, "h200-host")
	dir := t.TempDir()
	cfg := agent.Config{Server: env.URL, JoinToken: jt.Token, DataDir: dir, Runtime: "sim", Version: "test",
		SSHHost: "gpu-1.example.com", SSHPort: 2222, Discoverer: h200(t), MaxBackoff: 200 * time.Millisecond}
	a := start(cfg)
	nodeState := func() api.Node {
		n, err := env.App.Inventory.GetNode(ctx, node.Id)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	eventually(t, 10*time.Second, "node online with its GPU", func() bool {
		n := nodeState()
		return n.Status == api.NodeStatusOnline && len(n.Gpus) == 1
	})
	g := nodeState().Gpus[0]
	if g.Uuid != "GPU-18603c05-a9b7-355d-18ab-95b90ded7b0b" || g.Model != "NVIDIA H200" || g.MemoryMib != 143771 || g.Health != api.GPUHealthHealthy {
		t.Fatalf("reported gpu %+v", g)
	}
	// Telemetry from the real capture reaches gpu_samples (one COPY per flush).
	eventually(t, 10*time.Second, "a telemetry sample from the capture", func() bool {
		var n int
		err := env.App.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM gpu_samples WHERE node_id = $1
			AND gpu_uuid = 'GPU-18603c05-a9b7-355d-18ab-95b90ded7b0b' AND utilization_pct = 100
			AND memory_used_mib = 21619 AND temperature_c = 57 AND power_w = 692`, node.Id).Scan(&n)
		return err == nil && n > 0
	})
	// --ssh-host and --ssh-port reach the node row through Hello.
	if n := nodeState(); n.SshHost == nil || *n.SshHost != "gpu-1.example.com" || n.SshPort == nil || *n.SshPort != 2222 {
		t.Fatalf("advertised ssh address %v:%v", n.SshHost, n.SshPort)
	}
	if fi, err := os.Stat(filepath.Join(dir, agent.CredentialFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credential file: %v %v", fi, err)
	}

	killed := time.Now()
	a.stop(t)
	eventually(t, 5*time.Second, "node offline after the agent died", func() bool { return nodeState().Status == api.NodeStatusOffline })
	if took := time.Since(killed); took > 3*100*time.Millisecond+time.Second {
		t.Fatalf("offline after %s", took)
	}
	var announced int
	if err := env.App.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM outbox WHERE type = 'node.offline'
		AND payload->'data'->>'node_id' = $1`, node.Id.String()).Scan(&announced); err != nil || announced != 1 {
		t.Fatalf("node.offline events: %d %v", announced, err)
	}

	// Restart without a token: the saved credential is enough.
	cfg.JoinToken = ""
	a = start(cfg)
	eventually(t, 10*time.Second, "node back online", func() bool { return nodeState().Status == api.NodeStatusOnline })

	// Revoked: the running agent keeps its session until it reconnects,
	// and then stops for good with a clear error.
	if _, err := admin.AdminRevokeNodeCredentials(ctx, node.Id); err != nil {
		t.Fatal(err)
	}
	a.stop(t)
	err := agent.Run(ctx, cfg)
	if !errors.Is(err, agent.ErrPermanent) {
		t.Fatalf("revoked credential: %v", err)
	}
	// A used join token is refused clearly too.
	err = agent.Run(ctx, agent.Config{Server: env.URL, JoinToken: jt.Token, DataDir: t.TempDir(), Runtime: "sim"})
	if !errors.Is(err, agent.ErrPermanent) {
		t.Fatalf("used token: %v", err)
	}
}

func TestConnectRefusesOldProtocolsAndStrangers(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	url := "ws" + env.URL[len("http"):] + agentproto.ConnectPath
	for name, hdr := range map[string]http.Header{
		"too old":       {agentproto.HeaderVersion: {"0"}, "Authorization": {"Bearer gpn_x"}},
		"no version":    {"Authorization": {"Bearer gpn_x"}},
		"no credential": {agentproto.HeaderVersion: {"1"}},
		"forged":        {agentproto.HeaderVersion: {"1"}, "Authorization": {"Bearer gpn_00000000-0000-0000-0000-000000000000.x"}},
	} {
		_, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: hdr})
		if err == nil || resp == nil {
			t.Fatalf("%s: dial succeeded", name)
		}
		want := map[string]int{"too old": 426, "no version": 400, "no credential": 401, "forged": 401}[name]
		if resp.StatusCode != want {
			t.Fatalf("%s: %d, want %d", name, resp.StatusCode, want)
		}
	}
}

// recorder is a node runtime that records the tasks it was given.
type recorder struct {
	mu    sync.Mutex
	tasks []string
}

func (r *recorder) Provision(_ context.Context, t agentproto.Task) error {
	return r.add("provision", t)
}
func (r *recorder) Release(_ context.Context, t agentproto.Task) error { return r.add("release", t) }

func (r *recorder) add(kind string, t agentproto.Task) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tasks = append(r.tasks, kind+" "+t.AllocationID)
	return nil
}

func (r *recorder) count(kind, id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, t := range r.tasks {
		if t == kind+" "+id {
			n++
		}
	}
	return n
}
