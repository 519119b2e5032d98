//go:build linux

package e2e_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agent/runtime/process"
	"github.com/gpuaas/gpuaas/internal/agentproto"
	"github.com/gpuaas/gpuaas/internal/inventory"
	"github.com/gpuaas/gpuaas/internal/proctest"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/dbtest"
	"github.com/gpuaas/gpuaas/sdk"
)

const (
	natsURL = "nats://127.0.0.1:4222"
	// fixture is the real `nvidia-smi -q -x` capture of an idle H200 host,
	// and fixtureGPU the one GPU in it.
	fixture    = "../gpu/testdata/h200-idle.xml"
	fixtureGPU = "GPU-8dcb376c-52cc-9fe6-7c25-356490ff3e89"
)

// TestTerminalRealProcesses is the terminal journey with nothing in
// process: a built `gpuaas server`, a `gpuaas agent` with the process
// runtime (a real Linux user per allocation, so it needs root), a
// websocket client and the `gpuaas` CLI. The terminal is a shell of the
// allocation's user with its GPU pinned; a spent token is refused before
// any websocket; `gpuaas ssh ALLOC -- CMD` passes output and exit code
// through; releasing the allocation ends the open session and deletes the
// user.
func TestTerminalRealProcesses(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: the process runtime creates real Linux users and needs root")
	}
	for _, tool := range []string{"useradd", "userdel", "getent", "runuser"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: %s is not installed (%v)", tool, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin := proctest.BuildGPUaaS(t, dir)

	// The control plane, on a fresh database and NATS namespace of its own.
	dbURL := dbtest.NewURL(t)
	namespace := "e2e" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	t.Cleanup(func() { proctest.DeleteStream(t, natsURL, namespace) })
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "master.key")
	if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := proctest.FreeAddr(t)
	base := "http://" + addr
	server := proctest.Spawn(t, "server", bin, nil, nil, "server", "--listen", addr, "--database-url", dbURL,
		"--nats-url", natsURL, "--nats-namespace", namespace, "--secret-key-file", keyFile,
		"--data-dir", filepath.Join(dir, "server-data"), "--heartbeat-interval", "1s",
		"--runtime", "agent", "--log-format", "text")
	anon := sdk.New(base)
	proctest.Eventually(t, 60*time.Second, "server ready", func() (bool, error) {
		_, err := anon.Readyz(ctx)
		return err == nil, err
	}, server)

	// An admin made the operator's way, and the catalog seeded in the
	// server's database (there is no admin API for regions and SKUs).
	const adminPassword = "e2e admin password, long enough"
	if r := run(t, time.Minute, bin, nil, adminPassword+"\n", "create-admin", "--username", "e2e-admin",
		"--email", "e2e-admin@example.com", "--password-stdin", "--database-url", dbURL); r.code != 0 {
		t.Fatalf("create-admin: %s", r)
	}
	seedCatalog(ctx, t, dbURL)
	admin := signIn(ctx, t, base, "e2e-admin", adminPassword)
	node, err := admin.AdminCreateNode(ctx, api.CreateNodeRequest{Hostname: "e2e-h200", Region: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	jt, err := admin.AdminIssueJoinToken(ctx, node.Id)
	if err != nil {
		t.Fatal(err)
	}
	const userPassword = "e2e user password, long enough"
	u, err := admin.AdminCreateUser(ctx, api.CreateUserRequest{Username: "e2e-user", Email: "e2e-user@example.com",
		Password: userPassword, Role: api.RoleUser})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.AdminAdjustBalance(ctx, u.Id, api.AdjustBalanceRequest{AmountMinor: 100_000, Reason: "e2e credit"},
		uuid.NewString()); err != nil {
		t.Fatal(err)
	}
	user := signIn(ctx, t, base, "e2e-user", userPassword)

	// The node agent, with a stand-in nvidia-smi that prints the capture.
	// Whatever allocation the test creates, no Linux user of it outlives
	// the test: registered before the agent, this runs after its stop.
	var created []uuid.UUID
	t.Cleanup(func() {
		rt := &process.Runtime{}
		for _, id := range created {
			cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := rt.Release(cctx, process.Workload{AllocationID: id}); err != nil {
				t.Errorf("cleanup: release workload %s: %v", id, err)
			}
			cancel()
		}
	})
	smi, kernLog := fakeNvidiaSMI(t)
	agent := proctest.Spawn(t, "agent", bin, nil, nil, "agent", "--server", base, "--join-token", jt.Token,
		"--data-dir", filepath.Join(dir, "agent-data"), "--runtime", "process", "--self-update=false",
		"--ssh-host", "127.0.0.1", "--nvidia-smi", smi, "--kernel-log", kernLog)
	proctest.Eventually(t, 60*time.Second, "node online with its GPU", func() (bool, error) {
		n, err := admin.AdminGetNode(ctx, node.Id)
		return err == nil && n.Status == api.NodeStatusOnline && len(n.Gpus) == 1 && n.Gpus[0].Uuid == fixtureGPU, err
	}, server, agent)

	// An allocation on it, active once the agent has made its user.
	a, err := user.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h200-x1"}, uuid.NewString())
	if err != nil {
		t.Fatal(err)
	}
	created = append(created, a.Id)
	proctest.Eventually(t, 60*time.Second, "allocation active", func() (bool, error) {
		a, err = user.GetAllocation(ctx, a.Id)
		if err == nil && a.Status == api.AllocationStatusFailed {
			t.Fatalf("allocation failed: %+v", a)
		}
		return err == nil && a.Status == api.AllocationStatusActive, err
	}, server, agent)
	if len(a.Gpus) != 1 || a.Gpus[0].Uuid != fixtureGPU {
		t.Fatalf("allocation GPUs %+v, want %s", a.Gpus, fixtureGPU)
	}
	name := agentproto.UsernameFor(a.Id)
	if err := exec.Command("getent", "passwd", name).Run(); err != nil {
		t.Fatalf("getent passwd %s after activation: %v", name, err)
	}

	// The browser's path: a token, the websocket, a shell of the
	// allocation's user with its GPU pinned.
	tok, err := user.MintTerminalToken(ctx, a.Id)
	if err != nil {
		t.Fatal(err)
	}
	wsURL := "ws://" + addr + "/ws/terminal/" + a.Id.String()
	hdr := http.Header{"Authorization": {"Bearer " + tok.Token}}
	ws, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	readUntil(ctx, t, ws, "session_ready", nil)
	if err := ws.Write(ctx, websocket.MessageBinary, []byte("echo $CUDA_VISIBLE_DEVICES; whoami\n")); err != nil {
		t.Fatal(err)
	}
	// Whole lines, because the echoed command and the prompt hold the
	// user name too.
	out := readUntil(ctx, t, ws, "", func(out string) bool {
		lines := screenLines(out)
		return slices.Contains(lines, fixtureGPU) && slices.Contains(lines, name)
	})
	t.Logf("terminal output: %q", out)

	// The token is spent: refused at the upgrade, before any websocket.
	if _, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: hdr}); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("reused token: want HTTP 401, got %v (error %v)", resp, err)
	}

	// The CLI's path: the real binary, signed in like a user would.
	cliEnv := []string{"GPUAAS_CONFIG_DIR=" + filepath.Join(dir, "cli"), "GPUAAS_SERVER=" + base}
	if r := run(t, time.Minute, bin, cliEnv, userPassword+"\n", "login", "--username", "e2e-user", "--password-stdin"); r.code != 0 {
		t.Fatalf("gpuaas login: %s", r)
	}
	ssh := func(cmd ...string) runResult {
		return run(t, time.Minute, bin, cliEnv, "", append([]string{"ssh", a.Id.String(), "--"}, cmd...)...)
	}
	r := ssh("nvidia-smi", "-L", "||", "true")
	t.Logf("gpuaas ssh ALLOC -- nvidia-smi -L || true: %s", r) // no nvidia-smi on the user's PATH here
	if r.code != 0 {
		t.Errorf("gpuaas ssh ALLOC -- nvidia-smi -L || true: want exit 0, got %s", r)
	}
	if r := ssh("exit", "3"); r.code != 3 {
		t.Errorf("gpuaas ssh ALLOC -- exit 3: want exit 3, got %s", r)
	}
	if r := ssh("echo", "hello"); r.code != 0 || !strings.Contains(r.stdout, "hello") {
		t.Errorf("gpuaas ssh ALLOC -- echo hello: want hello and exit 0, got %s", r)
	}

	// Releasing the allocation ends the session still open, then the user.
	if _, err := user.ReleaseAllocation(ctx, a.Id); err != nil {
		t.Fatal(err)
	}
	readUntil(ctx, t, ws, "session_closed", nil)
	proctest.Eventually(t, 60*time.Second, "allocation released", func() (bool, error) {
		a, err = user.GetAllocation(ctx, a.Id)
		return err == nil && a.Status == api.AllocationStatusReleased, err
	}, server, agent)
	if out, err := exec.Command("getent", "passwd", name).CombinedOutput(); err == nil {
		t.Fatalf("Linux user %s still exists after release: %s", name, out)
	}
}

// readUntil reads terminal frames until the control frame of type stop
// arrives or, with stop empty, until done holds for the bytes read so far;
// any other control frame fails the test. It returns the bytes read.
func readUntil(ctx context.Context, t *testing.T, ws *websocket.Conn, stop string, done func(string) bool) string {
	t.Helper()
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var out strings.Builder
	for done == nil || !done(out.String()) {
		typ, b, err := ws.Read(rctx)
		if err != nil {
			t.Fatalf("read terminal (waiting for %q; output so far %q): %v", stop, out.String(), err)
		}
		if typ == websocket.MessageBinary {
			out.Write(b)
			continue
		}
		var m struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("control frame %q: %v", b, err)
		}
		if stop != "" && m.Type == stop {
			break
		}
		t.Fatalf("unexpected control frame %s (output so far %q)", b, out.String())
	}
	return out.String()
}

// csi matches the terminal control sequences a shell prints around its
// prompt: CSI (colours, bracketed paste mode) and OSC (window title).
var csi = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\a\x1b]*(\a|\x1b\\)`)

// screenLines is out as a terminal shows it, line by line: control
// sequences removed, and of a line that holds a carriage return only what
// was written after the last one.
func screenLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(csi.ReplaceAllString(out, ""), "\n") {
		l = strings.TrimRight(l, "\r")
		if i := strings.LastIndexByte(l, '\r'); i >= 0 {
			l = l[i+1:]
		}
		lines = append(lines, l)
	}
	return lines
}

// signIn logs in over HTTP and returns a client carrying the access token.
func signIn(ctx context.Context, t *testing.T, base, username, password string) *sdk.Client {
	t.Helper()
	pair, err := sdk.New(base).Login(ctx, username, password)
	if err != nil {
		t.Fatalf("login %s: %v", username, err)
	}
	return sdk.New(base, sdk.WithAccessToken(pair.AccessToken))
}

// seedCatalog puts region r1 and the one-H200 SKU h200-x1 in the database
// at dbURL.
func seedCatalog(ctx context.Context, t *testing.T, dbURL string) {
	t.Helper()
	st, err := store.Open(ctx, dbURL, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	inv := inventory.New(st)
	if err := inv.SeedRegion(ctx, inventory.Region{ID: "r1", Name: "R1"}); err != nil {
		t.Fatal(err)
	}
	if err := inv.SeedSKU(ctx, api.SKU{Id: "h200-x1", Name: "H200", GpuModel: "NVIDIA H200", GpuCount: 1,
		GpuMemoryMib: 143771, PricePerHourMinor: 349, Currency: "USD", Region: "r1", Active: true}); err != nil {
		t.Fatal(err)
	}
}

// fakeNvidiaSMI writes a script that answers `nvidia-smi -q -x` with the
// real capture, and an empty kernel log (no Xids), and returns their paths.
func fakeNvidiaSMI(t *testing.T) (smi, kernLog string) {
	t.Helper()
	xml, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	capture := filepath.Join(dir, "nvidia-smi-q.xml")
	if err := os.WriteFile(capture, xml, 0o644); err != nil {
		t.Fatal(err)
	}
	smi = filepath.Join(dir, "nvidia-smi")
	script := "#!/bin/sh\n# Stands in for nvidia-smi: the agent runs `nvidia-smi -q -x`.\nexec cat '" + capture + "'\n"
	if err := os.WriteFile(smi, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	kernLog = filepath.Join(dir, "kern.log")
	if err := os.WriteFile(kernLog, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return smi, kernLog
}
