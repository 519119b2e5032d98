package agent_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agent"
	"github.com/gpuaas/gpuaas/internal/events"
	"github.com/gpuaas/gpuaas/internal/inventory"
	"github.com/gpuaas/gpuaas/internal/release"
	"github.com/gpuaas/gpuaas/internal/secrets"
	"github.com/gpuaas/gpuaas/internal/server"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/dbtest"
	"github.com/gpuaas/gpuaas/sdk"
)

// binaryServer is a control plane that serves one agent binary, signed
// with its key; tamper changes what it sends.
type binaryServer struct {
	*httptest.Server
	key     ed25519.PrivateKey
	version string
	body    []byte
	tamper  func(h http.Header)
}

func newBinaryServer(t *testing.T, version string, body []byte) *binaryServer {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	s := &binaryServer{key: priv, version: version, body: body}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(api.JWKS{Keys: []api.JWK{{Kty: api.JWKKtyOKP, Crv: api.JWKCrvEd25519,
			Alg: api.JWKAlgEdDSA, Use: api.JWKUseSig, Kid: "k1", X: base64.RawURLEncoding.EncodeToString(pub)}}})
	})
	mux.HandleFunc("GET "+release.BinaryPath, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer cred" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		sum := sha256.Sum256(s.body)
		hexSum := hex.EncodeToString(sum[:])
		h := w.Header()
		h.Set(release.HeaderVersion, s.version)
		h.Set(release.HeaderSHA256, hexSum)
		h.Set(release.HeaderKid, "k1")
		h.Set(release.HeaderSignature, base64.StdEncoding.EncodeToString(ed25519.Sign(s.key, release.Message(s.version, hexSum))))
		if s.tamper != nil {
			s.tamper(h)
		}
		_, _ = w.Write(s.body)
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// fakeExec records the re-execs instead of replacing the test process.
type fakeExec struct {
	mu    sync.Mutex
	paths []string
	argv  [][]string
}

func (f *fakeExec) exec(path string, argv, env []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.paths = append(f.paths, path)
	f.argv = append(f.argv, argv)
	return nil
}

func (f *fakeExec) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.paths...)
}

// node is one host: a binary on disk and a data dir.
type node struct {
	exe, data string
	exec      *fakeExec
	now       time.Time
}

func newNode(t *testing.T, content string) *node {
	dir := t.TempDir()
	n := &node{exe: filepath.Join(dir, "bin", "gpuaas"), data: filepath.Join(dir, "data"), exec: &fakeExec{},
		now: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)}
	if err := os.MkdirAll(filepath.Dir(n.exe), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(n.exe, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
	return n
}

// updater is the agent process of version on n.
func (n *node) updater(server, version string) *agent.Updater {
	return &agent.Updater{Server: server, Credential: "cred", DataDir: n.data, Version: version, Executable: n.exe,
		Args: []string{"gpuaas", "agent", "--server", server}, Env: []string{"A=1"},
		Exec: n.exec.exec, Now: func() time.Time { return n.now }, Deadline: time.Minute}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func TestUpdateSwapsAndExecs(t *testing.T) {
	t.Parallel()
	srv := newBinaryServer(t, "vB", []byte("binary B"))
	n := newNode(t, "binary A")
	if err := n.updater(srv.URL, "vA").Update(ctx, "vB"); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, n.exe); got != "binary B" {
		t.Fatalf("executable holds %q", got)
	}
	if got := readFile(t, n.exe+".previous"); got != "binary A" {
		t.Fatalf("previous holds %q", got)
	}
	if fi, err := os.Stat(n.exe); err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("mode: %v %v", fi, err)
	}
	if calls := n.exec.calls(); len(calls) != 1 || calls[0] != n.exe || n.exec.argv[0][1] != "agent" {
		t.Fatalf("exec calls %v %v", calls, n.exec.argv)
	}
	var marker map[string]any
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(n.data, agent.UpdatePendingFile))), &marker); err != nil ||
		marker["from_version"] != "vA" || marker["to_version"] != "vB" || marker["previous"] != n.exe+".previous" {
		t.Fatalf("marker %v %v", marker, err)
	}
	// Nothing else was left beside the binary.
	if ents, _ := os.ReadDir(filepath.Dir(n.exe)); len(ents) != 2 {
		t.Fatalf("bin dir: %v", ents)
	}

	// Same version, or no version: nothing happens.
	m := newNode(t, "binary A")
	for _, v := range []string{"vA", ""} {
		if err := m.updater(srv.URL, "vA").Update(ctx, v); err != nil || len(m.exec.calls()) != 0 || exists(m.exe+".previous") {
			t.Fatalf("update to %q: %v %v", v, err, m.exec.calls())
		}
	}
}

func TestUpdateRefusesWhatDoesNotVerify(t *testing.T) {
	t.Parallel()
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	cases := map[string]func(h http.Header){
		"wrong sha256": func(h http.Header) {
			sum := sha256.Sum256([]byte("something else"))
			h.Set(release.HeaderSHA256, hex.EncodeToString(sum[:]))
		},
		"signed by another key": func(h http.Header) {
			h.Set(release.HeaderSignature, base64.StdEncoding.EncodeToString(
				ed25519.Sign(otherKey, release.Message("vB", h.Get(release.HeaderSHA256)))))
		},
		"signature for another version": func(h http.Header) {
			h.Set(release.HeaderVersion, "vC")
		},
		"unknown kid":    func(h http.Header) { h.Set(release.HeaderKid, "k9") },
		"no signature":   func(h http.Header) { h.Del(release.HeaderSignature) },
		"no sha256":      func(h http.Header) { h.Del(release.HeaderSHA256) },
		"garbage base64": func(h http.Header) { h.Set(release.HeaderSignature, "!!!") },
	}
	for name, tamper := range cases {
		t.Run(name, func(t *testing.T) {
			srv := newBinaryServer(t, "vB", []byte("binary B"))
			srv.tamper = tamper
			n := newNode(t, "binary A")
			err := n.updater(srv.URL, "vA").Update(ctx, "vB")
			if err == nil {
				t.Fatal("update went through")
			}
			if got := readFile(t, n.exe); got != "binary A" {
				t.Fatalf("executable holds %q", got)
			}
			if exists(n.exe+".previous") || exists(filepath.Join(n.data, agent.UpdatePendingFile)) || len(n.exec.calls()) != 0 {
				t.Fatalf("something moved: exec %v", n.exec.calls())
			}
			if ents, _ := os.ReadDir(filepath.Dir(n.exe)); len(ents) != 1 {
				t.Fatalf("left behind: %v", ents)
			}
		})
	}
	// A tampered body under a good signature: the digest catches it.
	srv := newBinaryServer(t, "vB", []byte("binary B"))
	n := newNode(t, "binary A")
	srv.tamper = func(h http.Header) { srv.body = []byte("binary X") }
	defer func() { srv.tamper = nil }()
	// The headers were made from the original body before the swap of
	// bodies in tamper, so they describe "binary B".
	err := n.updater(srv.URL, "vA").Update(ctx, "vB")
	if err == nil || !strings.Contains(err.Error(), "sha256") || readFile(t, n.exe) != "binary A" {
		t.Fatalf("tampered body: %v, executable %q", err, readFile(t, n.exe))
	}
	// A refused credential is an error, not a swap.
	bad := n.updater(srv.URL, "vA")
	bad.Credential = "nope"
	if err := bad.Update(ctx, "vB"); err == nil || readFile(t, n.exe) != "binary A" {
		t.Fatalf("bad credential: %v", err)
	}
}

func TestUpdateRollsBackAfterTheDeadline(t *testing.T) {
	t.Parallel()
	srv := newBinaryServer(t, "vB", []byte("binary B"))
	n := newNode(t, "binary A")
	if err := n.updater(srv.URL, "vA").Update(ctx, "vB"); err != nil {
		t.Fatal(err)
	}
	// The new process starts, but never connects: its deadline passes
	// (here it was restarted after the deadline, so Resume sees it).
	n.now = n.now.Add(time.Minute + time.Second)
	n.updater(srv.URL, "vB").Resume()
	if got := readFile(t, n.exe); got != "binary A" {
		t.Fatalf("executable holds %q after rollback", got)
	}
	if exists(filepath.Join(n.data, agent.UpdatePendingFile)) || exists(n.exe+".previous") {
		t.Fatal("marker or previous left after rollback")
	}
	if calls := n.exec.calls(); len(calls) != 2 || calls[1] != n.exe {
		t.Fatalf("exec calls %v", calls)
	}
	// The old binary, back, does not try that version again.
	err := n.updater(srv.URL, "vA").Update(ctx, "vB")
	if !errors.Is(err, agent.ErrUpdateSkipped) || len(n.exec.calls()) != 2 || readFile(t, n.exe) != "binary A" {
		t.Fatalf("retry of a rolled-back version: %v %v", err, n.exec.calls())
	}
	// A newer version is tried.
	srv.version, srv.body = "vC", []byte("binary C")
	if err := n.updater(srv.URL, "vA").Update(ctx, "vC"); err != nil || readFile(t, n.exe) != "binary C" {
		t.Fatalf("update to vC: %v", err)
	}
}

func TestUpdateWatchdogRollsBackWhileRunning(t *testing.T) {
	t.Parallel()
	srv := newBinaryServer(t, "vB", []byte("binary B"))
	n := newNode(t, "binary A")
	u := n.updater(srv.URL, "vA")
	u.Now, u.Deadline = time.Now, 100*time.Millisecond
	if err := u.Update(ctx, "vB"); err != nil {
		t.Fatal(err)
	}
	nu := n.updater(srv.URL, "vB")
	nu.Now = time.Now
	nu.Resume()
	if readFile(t, n.exe) != "binary B" {
		t.Fatal("rolled back before the deadline")
	}
	eventually(t, 5*time.Second, "rollback by the watchdog", func() bool { return readFile(t, n.exe) == "binary A" })
	eventually(t, time.Second, "old binary re-executed", func() bool { return len(n.exec.calls()) == 2 })
}

func TestUpdateConfirmedByConnecting(t *testing.T) {
	t.Parallel()
	srv := newBinaryServer(t, "vB", []byte("binary B"))
	n := newNode(t, "binary A")
	u := n.updater(srv.URL, "vA")
	u.Now, u.Deadline = time.Now, 200*time.Millisecond
	if err := u.Update(ctx, "vB"); err != nil {
		t.Fatal(err)
	}
	nu := n.updater(srv.URL, "vB")
	nu.Now = time.Now
	nu.Resume()
	nu.Connected()
	if exists(filepath.Join(n.data, agent.UpdatePendingFile)) {
		t.Fatal("marker left after connecting")
	}
	time.Sleep(400 * time.Millisecond) // past the deadline: nothing happens
	if readFile(t, n.exe) != "binary B" || len(n.exec.calls()) != 1 {
		t.Fatalf("executable %q, exec %v", readFile(t, n.exe), n.exec.calls())
	}
	// A marker for a version that is not running is stale: removed, no rollback.
	if err := os.WriteFile(filepath.Join(n.data, agent.UpdatePendingFile),
		[]byte(`{"executable":"`+n.exe+`","previous":"`+n.exe+`.previous","from_version":"vA","to_version":"vZ","deadline":"2000-01-01T00:00:00Z"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	n.updater(srv.URL, "vB").Resume()
	if exists(filepath.Join(n.data, agent.UpdatePendingFile)) || readFile(t, n.exe) != "binary B" || len(n.exec.calls()) != 1 {
		t.Fatal("stale marker acted on")
	}
}

// TestSelfUpdateThroughTheControlPlane runs the agent against a real
// control plane of another version: it downloads the server's own binary
// (this test binary), checks the platform key's signature from the JWKS,
// swaps and "execs".
func TestSelfUpdateThroughTheControlPlane(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	_, _, jt := joinableNode(t, env, "upd-host")
	n := newNode(t, "binary A")
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Skip("no /proc/self/exe:", err)
	}
	a := start(agent.Config{Server: env.URL, JoinToken: jt.Token, DataDir: n.data, Runtime: "sim",
		Version: server.Version + "-old", MaxBackoff: 200 * time.Millisecond, SelfUpdate: true,
		Updater: &agent.Updater{Executable: n.exe, Exec: n.exec.exec}})
	defer a.stop(t)
	eventually(t, 20*time.Second, "agent swapped in the server's binary", func() bool { return len(n.exec.calls()) == 1 })
	got, _ := os.ReadFile(n.exe)
	if !bytes.Equal(got, self) {
		t.Fatalf("swapped binary is %d bytes, the server's is %d", len(got), len(self))
	}
	if readFile(t, n.exe+".previous") != "binary A" {
		t.Fatal("previous binary not kept")
	}
}

// TestSelfUpdateBetweenTwoBuilds is the whole path with real processes: a
// server built as vB, an agent built as vA. The agent downloads the
// server's binary, swaps it into its own path, re-execs, and the node comes
// online with agent_version vB.
func TestSelfUpdateBetweenTwoBuilds(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the binary twice")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go on PATH")
	}
	gomod, err := exec.Command(goBin, "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(gomod)) == "" || strings.TrimSpace(string(gomod)) == os.DevNull {
		t.Skip("no module root:", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	tctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	dir := t.TempDir()

	// Two builds that differ only in their version, built side by side.
	build := func(version string) (string, error) {
		out := filepath.Join(dir, "gpuaas-"+version)
		cmd := exec.CommandContext(tctx, goBin, "build", "-ldflags", "-X main.version="+version, "-o", out, "./cmd/gpuaas")
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("build %s: %v\n%s", version, err, b)
		}
		return out, nil
	}
	var binA, binB string
	var errA, errB error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); binA, errA = build("vA") }()
	go func() { defer wg.Done(); binB, errB = build("vB") }()
	wg.Wait()
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	shaB := fileSHA(t, binB)
	if fileSHA(t, binA) == shaB {
		t.Fatal("the two builds are the same file")
	}

	// The environment without this machine's GPUAAS_* settings.
	var baseEnv []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GPUAAS_") {
			baseEnv = append(baseEnv, kv)
		}
	}
	spawn := func(name string, env []string, bin string, args ...string) *exec.Cmd {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(append([]string(nil), baseEnv...), env...)
		logf, err := os.Create(filepath.Join(dir, name+".log"))
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			logf.Close()
			if t.Failed() {
				b, _ := os.ReadFile(logf.Name())
				t.Logf("%s log:\n%s", name, b)
			}
		})
		return cmd
	}

	// The control plane, from build B.
	dbURL := dbtest.NewURL(t)
	keyFile := filepath.Join(dir, "master.key")
	if _, err := secrets.GenerateKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	baseURL := "http://" + addr
	namespace := "t" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	spawn("server", nil, binB, "server", "--listen", addr, "--database-url", dbURL, "--nats-url", "nats://127.0.0.1:4222",
		"--nats-namespace", namespace, "--secret-key-file", keyFile, "--data-dir", filepath.Join(dir, "server-data"),
		"--runtime", "agent", "--log-level", "info")
	t.Cleanup(func() {
		dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer dcancel()
		if nc, err := nats.Connect("nats://127.0.0.1:4222"); err == nil {
			if js, err := jetstream.New(nc); err == nil {
				_ = js.DeleteStream(dctx, events.Naming{Namespace: namespace}.Stream())
			}
			nc.Close()
		}
	})
	anon := sdk.New(baseURL)
	eventually(t, 30*time.Second, "server up", func() bool { _, err := anon.Healthz(tctx); return err == nil })

	// An admin, a region and a node with a join token.
	st, err := store.Open(tctx, dbURL, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := inventory.New(st).SeedRegion(tctx, inventory.Region{ID: "r1", Name: "R1"}); err != nil {
		t.Fatal(err)
	}
	const password = "self-update admin password"
	mk := exec.CommandContext(tctx, binB, "create-admin", "--username", "root", "--email", "root@example.com", "--database-url", dbURL)
	mk.Env = append(append([]string(nil), baseEnv...), "GPUAAS_ADMIN_PASSWORD="+password)
	if b, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("create-admin: %v\n%s", err, b)
	}
	pair, err := anon.Login(tctx, "root", password)
	if err != nil {
		t.Fatal(err)
	}
	admin := sdk.New(baseURL, sdk.WithAccessToken(pair.AccessToken))
	nd, err := admin.AdminCreateNode(tctx, api.CreateNodeRequest{Hostname: "upd-01", Region: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	jt, err := admin.AdminIssueJoinToken(tctx, nd.Id)
	if err != nil {
		t.Fatal(err)
	}

	// The agent, from a copy of build A in a directory of its own.
	agentBin := filepath.Join(dir, "node", "gpuaas")
	if err := os.MkdirAll(filepath.Dir(agentBin), 0o755); err != nil {
		t.Fatal(err)
	}
	a, err := os.ReadFile(binA)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(agentBin, a, 0o755); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(dir, "node", "data")
	spawn("agent", nil, agentBin, "agent", "--server", baseURL, "--join-token", jt.Token, "--data-dir", dataDir, "--runtime", "sim")

	eventually(t, 40*time.Second, "the agent's executable becomes build B", func() bool { return fileSHA(t, agentBin) == shaB })
	eventually(t, 30*time.Second, "node online with agent_version vB", func() bool {
		n, err := admin.AdminGetNode(tctx, nd.Id)
		return err == nil && n.Status == api.NodeStatusOnline && n.AgentVersion != nil && *n.AgentVersion == "vB"
	})
	eventually(t, 10*time.Second, "update confirmed (marker removed)", func() bool {
		return !exists(filepath.Join(dataDir, agent.UpdatePendingFile))
	})
	if fileSHA(t, agentBin+".previous") != fileSHA(t, binA) {
		t.Fatal("previous binary is not build A")
	}
}

func fileSHA(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	defer f.Close()
	sum, _, err := release.SHA256(f)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}
