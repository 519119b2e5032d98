package agent_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/ssh"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agent"
	"github.com/gpuaas/gpuaas/internal/agent/runtime/process"
	"github.com/gpuaas/gpuaas/internal/agent/runtime/process/sshdtest"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
)

const (
	sshClient = "/usr/bin/ssh"
	h200UUID  = "GPU-18603c05-a9b7-355d-18ab-95b90ded7b0b" // the GPU in the real capture
)

// requireAcceptanceHost skips unless this host can run the whole path for
// real: root (Linux users), the user-database tools, sshd and the OpenSSH
// client. sshdtest.Start checks sshd and root again.
func requireAcceptanceHost(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: the process runtime creates real Linux users and needs root")
	}
	for _, p := range []string{sshdtest.Path, sshClient} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("skipping: %s is not installed (%v)", p, err)
		}
	}
	for _, tool := range []string{"useradd", "userdel", "getent"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: %s is not installed (%v)", tool, err)
		}
	}
}

// userKey generates an ed25519 key pair, writes the private half in
// OpenSSH format to a 0600 file for the ssh client, and returns that path
// and the authorized_keys line of the public half.
func userKey(t *testing.T) (keyFile, authorized string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "acceptance@gpuaas")
	if err != nil {
		t.Fatal(err)
	}
	keyFile = filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return keyFile, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))) + " acceptance@gpuaas"
}

// sshRun runs the real OpenSSH client against conn with stdin and returns
// its standard output and error; err is non-nil when ssh exits non-zero.
func sshRun(t *testing.T, keyFile string, conn api.Connection, stdin string, extra ...string) (stdout, stderr string, err error) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	args := []string{"-F", "/dev/null", "-i", keyFile, "-p", strconv.Itoa(conn.Port),
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
		"-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR"}
	args = append(args, extra...)
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(c, sshClient, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// TestAcceptanceRealAgentProcessRuntimeSSH is the end-to-end
// acceptance path with nothing simulated but the GPU: a real control plane
// with the agent runtime, a real agent running the process runtime, a
// real sshd and the real OpenSSH client. A user's key reaches the Linux
// user the agent creates, the login sees its pinned GPU, release removes
// the user and the login, and a killed agent takes its node offline.
func TestAcceptanceRealAgentProcessRuntimeSSH(t *testing.T) {
	// Not parallel: it times how soon the node notices, against a bound of
	// a few heartbeats, which a busy process would miss.
	requireAcceptanceHost(t)
	began := time.Now()
	phase := began
	lap := func(what string) {
		t.Logf("%-34s %6s", what, time.Since(phase).Round(time.Millisecond))
		phase = time.Now()
	}

	const interval = 200 * time.Millisecond
	port := sshdtest.Start(t)
	env := servertest.Start(t, func(c *config.Server) {
		c.Runtime = "agent"
		c.HeartbeatInterval = interval
	})
	inv := env.App.Inventory
	node, jt := env.H200Node(t, "h200-host")
	env.Fund(t, 100_000)
	c, _ := env.As("user")

	// Whatever happens, no Linux user outlives the test. Registered before
	// the agent starts so that it runs after the agent stops (cleanups run
	// last in, first out) and nothing provisions behind it. It releases
	// every allocation the user has, the one this test knows included.
	rt := &process.Runtime{}
	var created []uuid.UUID
	t.Cleanup(func() {
		ids := append([]uuid.UUID(nil), created...)
		if list, err := c.ListAllocations(ctx, api.ListAllocationsParams{}); err == nil {
			for _, a := range list.Items {
				ids = append(ids, a.Id)
			}
		} else {
			t.Logf("cleanup: list allocations: %v", err)
		}
		for _, id := range ids {
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			if err := rt.Release(cctx, process.Workload{AllocationID: id}); err != nil {
				t.Errorf("cleanup: release workload %s: %v", id, err)
			}
			cancel()
		}
	})

	ag := start(agent.Config{Server: env.URL, JoinToken: jt, DataDir: t.TempDir(), Runtime: "process",
		Version: "test", Discoverer: h200(t), NodeRuntime: agent.ProcessRuntime{RT: rt},
		SSHHost: "127.0.0.1", SSHPort: port, MaxBackoff: 200 * time.Millisecond})
	t.Cleanup(func() { ag.stop(t) })
	lap("control plane, sshd, agent started")

	// 1. The node comes online with its GPU and advertised SSH address.
	nodeState := func() api.Node {
		n, err := inv.GetNode(ctx, node.Id)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	eventually(t, 10*time.Second, "node online with its GPU", func() bool {
		n := nodeState()
		return n.Status == api.NodeStatusOnline && len(n.Gpus) == 1
	})
	if n := nodeState(); n.Gpus[0].Uuid != h200UUID || n.SshHost == nil || *n.SshHost != "127.0.0.1" || n.SshPort == nil || *n.SshPort != port {
		t.Fatalf("node %+v: want GPU %s and ssh 127.0.0.1:%d", n, h200UUID, port)
	}
	lap("node online")

	// 2. The user's key and an allocation; it becomes active and says how
	// to log in.
	keyFile, pub := userKey(t)
	if _, err := c.AddSSHKey(ctx, "acceptance", pub); err != nil {
		t.Fatal(err)
	}
	a, err := c.CreateAllocation(ctx, api.CreateAllocationRequest{SkuId: "h200-x1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	created = append(created, a.Id)
	if a.NodeId == nil || *a.NodeId != node.Id || len(a.Gpus) != 1 || a.Gpus[0].Uuid != h200UUID {
		t.Fatalf("placed %+v", a)
	}
	a = waitAllocation(t, c, a, api.AllocationStatusActive)
	lap("allocation active")
	conn := a.Connection
	name := process.UsernameFor(a.Id)
	if conn == nil || conn.Host != "127.0.0.1" || conn.Port != port || conn.Username != name {
		t.Fatalf("connection %+v, want {127.0.0.1 %d %s}", conn, port, name)
	}
	if u, err := user.Lookup(name); err != nil || u.HomeDir != rt.Home(name) {
		t.Fatalf("linux user %s: %+v %v", name, u, err)
	}
	target := conn.Username + "@" + conn.Host

	// 3. The real OpenSSH client logs in with the user's key. `ssh host
	// CMD` sees the pinned GPU.
	out, errOut, err := sshRun(t, keyFile, *conn, "", target, `echo $CUDA_VISIBLE_DEVICES; echo $NVIDIA_VISIBLE_DEVICES; whoami`)
	if err != nil {
		t.Fatalf("ssh %s: %v\n%s", target, err, errOut)
	}
	if got, want := strings.TrimSpace(out), h200UUID+"\n"+h200UUID+"\n"+name; got != want {
		t.Fatalf("ssh CMD printed %q, want %q", got, want)
	}
	// A login shell finds it on its own: drop the inherited copy first.
	out, errOut, err = sshRun(t, keyFile, *conn, "", target,
		`env -u CUDA_VISIBLE_DEVICES -u NVIDIA_VISIBLE_DEVICES bash -lc 'shopt -q login_shell && echo login; echo "$CUDA_VISIBLE_DEVICES|$NVIDIA_VISIBLE_DEVICES"'`)
	if err != nil {
		t.Fatalf("ssh %s bash -lc: %v\n%s", target, err, errOut)
	}
	if got, want := strings.TrimSpace(out), "login\n"+h200UUID+"|"+h200UUID; got != want {
		t.Fatalf("bash -lc printed %q, want %q", got, want)
	}
	// No command: sshd starts the user's login shell itself (no PTY, so
	// the script comes on stdin).
	out, errOut, err = sshRun(t, keyFile, *conn,
		"shopt -q login_shell && echo login\necho \"$CUDA_VISIBLE_DEVICES|$NVIDIA_VISIBLE_DEVICES\"\nexit\n", "-T", target)
	if err != nil {
		t.Fatalf("ssh %s (login shell): %v\n%s", target, err, errOut)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) < 2 ||
		lines[len(lines)-2] != "login" || lines[len(lines)-1] != h200UUID+"|"+h200UUID {
		t.Fatalf("login shell printed %q, want \"login\" then %s|%s", out, h200UUID, h200UUID)
	}
	lap("three ssh logins checked")

	// 4. Release: the user and home are gone, and so is the login.
	if _, err := c.ReleaseAllocation(ctx, a.Id); err != nil {
		t.Fatal(err)
	}
	waitAllocation(t, c, a, api.AllocationStatusReleased)
	lap("allocation released")
	var unknown user.UnknownUserError
	if u, err := user.Lookup(name); !errors.As(err, &unknown) {
		t.Errorf("linux user %s after release: %+v %v; want it unknown", name, u, err)
	}
	if _, err := os.Stat(rt.Home(name)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("home %s after release: %v; want it gone", rt.Home(name), err)
	}
	if out, errOut, err := sshRun(t, keyFile, *conn, "", target, "true"); err == nil {
		t.Errorf("ssh %s after release succeeded: %q %q", target, out, errOut)
	}

	// 5. A killed agent takes its node offline within 3 intervals and a sweep.
	killed := time.Now()
	ag.stop(t)
	eventually(t, 5*time.Second, "node offline after the agent died", func() bool {
		return nodeState().Status == api.NodeStatusOffline
	})
	took := time.Since(killed)
	lap("node offline after agent killed")
	if took >= 3*time.Second {
		t.Fatalf("node offline %s after the agent died, want < 3s (interval %s)", took.Round(time.Millisecond), interval)
	}
	t.Logf("total %s; offline detected %s after the kill", time.Since(began).Round(time.Millisecond), took.Round(time.Millisecond))
}
