package agent_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/agent/runtime/process"
	"github.com/gpuaas/gpuaas/internal/cli"
	"github.com/gpuaas/gpuaas/internal/config"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/sdk"
)

// stdioHelperEnv makes this test binary `gpuaas ssh --stdio` for OpenSSH's
// ProxyCommand (TestStdioHelper).
const stdioHelperEnv = "GPUAAS_TEST_STDIO_HELPER"

// TestStdioHelper is not a test: run by OpenSSH as a ProxyCommand, it is
// `gpuaas ssh --stdio ALLOC` with the environment's CLI config.
func TestStdioHelper(t *testing.T) {
	t.Parallel()
	if os.Getenv(stdioHelperEnv) == "" {
		t.Skip("a ProxyCommand helper, run by the ssh tests")
	}
	e := cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	os.Exit(cli.Run(context.Background(), e, "ssh", []string{"--stdio", os.Getenv(stdioHelperEnv)}))
}

// cliLogin signs a CLI config dir into env as username and returns its
// variables.
func cliLogin(t *testing.T, env *servertest.Env, username string) map[string]string {
	t.Helper()
	vars := map[string]string{"GPUAAS_CONFIG_DIR": t.TempDir(), "GPUAAS_SERVER": env.URL}
	var errb strings.Builder
	e := cli.Env{Stdin: strings.NewReader(servertest.Password + "\n"), Stdout: io.Discard, Stderr: &errb,
		Getenv: func(k string) string { return vars[k] }}
	if code := cli.Run(ctx, e, "login", []string{"--username", username, "--password-stdin"}); code != 0 {
		t.Fatalf("login: %s", errb.String())
	}
	return vars
}

// pipeConn is a net.Conn over two pipes.
type pipeConn struct {
	io.Reader
	io.WriteCloser
	net.Conn // nil: only the address and deadline methods, unused by ssh
}

func (p pipeConn) Read(b []byte) (int, error)  { return p.Reader.Read(b) }
func (p pipeConn) Write(b []byte) (int, error) { return p.WriteCloser.Write(b) }
func (p pipeConn) Close() error                { return p.WriteCloser.Close() }
func (p pipeConn) LocalAddr() net.Addr         { return &net.UnixAddr{Name: "stdio", Net: "unix"} }
func (p pipeConn) RemoteAddr() net.Addr        { return &net.UnixAddr{Name: "stdio", Net: "unix"} }

// stdioDial runs `gpuaas ssh --stdio ALLOC` in-process and returns its
// stdin and stdout as one connection, and the CLI's stderr and exit code
// once it ends.
func stdioDial(t *testing.T, vars map[string]string, id string) (net.Conn, func() (string, int)) {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	var errb strings.Builder
	done := make(chan int, 1)
	go func() {
		e := cli.Env{Stdin: inR, Stdout: outW, Stderr: &errb, Getenv: func(k string) string { return vars[k] }}
		code := cli.Run(ctx, e, "ssh", []string{"--stdio", id})
		outW.Close()
		done <- code
	}()
	t.Cleanup(func() { inW.Close() })
	return pipeConn{Reader: outR, WriteCloser: inW}, func() (string, int) {
		select {
		case code := <-done:
			return errb.String(), code
		case <-time.After(20 * time.Second):
			t.Fatal("gpuaas ssh --stdio did not end")
			return "", 0
		}
	}
}

// newKey makes an ed25519 key: its signer and authorized_keys line.
func newKey(t *testing.T) (ssh.Signer, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
}

// dialSSH connects a Go SSH client through `gpuaas ssh --stdio`.
func dialSSH(t *testing.T, vars map[string]string, id string, signer ssh.Signer) (*ssh.Client, error) {
	t.Helper()
	conn, _ := stdioDial(t, vars, id)
	cc, chans, reqs, err := ssh.NewClientConn(conn, id, &ssh.ClientConfig{User: "anyone",
		Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 20 * time.Second})
	if err != nil {
		conn.Close()
		return nil, err
	}
	c := ssh.NewClient(cc, chans, reqs)
	t.Cleanup(func() { c.Close() })
	return c, nil
}

// run runs cmd in a fresh session and returns stdout, stderr and the exit
// status.
func run(t *testing.T, c *ssh.Client, stdin, cmd string) (string, string, int) {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out, errb bytes.Buffer
	s.Stdin, s.Stdout, s.Stderr = strings.NewReader(stdin), &out, &errb
	err = s.Run(cmd)
	code := 0
	var ee *ssh.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitStatus()
	} else if err != nil {
		t.Fatalf("run %q: %v", cmd, err)
	}
	return out.String(), errb.String(), code
}

// checkSSH is what every runtime must do over the SSH stream: commands
// with stdout, stderr, stdin and exit codes apart, a PTY on request, a
// key that is not the owner's refused, another user's allocation 404.
// probe runs in the first command; its output must contain want.
func checkSSH(t *testing.T, env *servertest.Env, c *sdk.Client, u api.User, a api.Allocation, probe, want string) {
	t.Helper()
	signer, authorized := newKey(t)
	if _, err := c.AddSSHKey(ctx, "go", authorized); err != nil {
		t.Fatal(err)
	}
	vars := cliLogin(t, env, u.Username)
	id := a.Id.String()
	client, err := dialSSH(t, vars, id, signer)
	if err != nil {
		t.Fatalf("ssh with the owner's key: %v", err)
	}
	if out, errs, code := run(t, client, "", "echo hi; "+probe+"; echo oops >&2; exit 3"); !strings.HasPrefix(out, "hi\n") || errs != "oops\n" || code != 3 {
		t.Errorf("exec: stdout %q stderr %q exit %d, want hi, oops apart and 3", out, errs, code)
	} else if !strings.Contains(out, a.Gpus[0].Uuid) || !strings.Contains(out, want) {
		t.Errorf("exec: %q lacks the allocation's GPU %s or %q", out, a.Gpus[0].Uuid, want)
	}
	if out, _, code := run(t, client, "a\nb\nc\n", "wc -l"); strings.TrimSpace(out) != "3" || code != 0 {
		t.Errorf("stdin through exec: %q %d", out, code)
	}
	s, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RequestPty("xterm", 30, 90, ssh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	if err := s.WindowChange(31, 91); err != nil {
		t.Fatal(err)
	}
	out, err := s.Output("sleep 0.3; stty size")
	if err != nil || !strings.Contains(string(out), "31 91") {
		t.Errorf("pty: %q %v, want 31 91", out, err)
	}
	s.Close()
	// A forward is refused.
	if _, err := client.Dial("tcp", "127.0.0.1:22"); err == nil {
		t.Error("port forwarding was accepted")
	}

	client.Close()
	eventually(t, 10*time.Second, "ssh session audited", func() bool {
		var n int
		err := env.App.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM audit_logs WHERE target_id = $1
			AND action IN ('ssh.session_start', 'ssh.session_end') AND actor_user_id = $2`, id, u.Id).Scan(&n)
		return err == nil && n == 2
	})

	// Not the owner's key: refused.
	other, _ := newKey(t)
	if _, err := dialSSH(t, vars, id, other); err == nil {
		t.Error("a key the owner does not hold logged in")
	}
	// Another user: 404 before any SSH.
	_, u2 := env.As("user")
	vars2 := cliLogin(t, env, u2.Username)
	conn, end := stdioDial(t, vars2, id)
	conn.Close()
	if errs, code := end(); code == 0 || !strings.Contains(errs, "404") {
		t.Errorf("another user's ssh --stdio: exit %d, %q; want a 404", code, errs)
	}

	// OpenSSH through the same ProxyCommand, when it is installed.
	sshBin, err := exec.LookPath("ssh")
	if err != nil {
		return
	}
	keyFile, pub := userKey(t)
	if _, err := c.AddSSHKey(ctx, "openssh", pub); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	self, _ := os.Executable()
	// A stand-in for the gpuaas binary: `gpuaas ssh --stdio %h` runs this
	// test binary's TestStdioHelper with %h.
	proxy := filepath.Join(dir, "gpuaas")
	script := "#!/bin/sh\n[ \"$1 $2\" = \"ssh --stdio\" ] || exit 2\n" + stdioHelperEnv + "=\"$3\" exec '" + self + "' -test.run='^TestStdioHelper$'\n"
	if err := os.WriteFile(proxy, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "config")
	var block strings.Builder
	block.WriteString(cli.SSHConfigBlock([]api.Allocation{a}, proxy, filepath.Join(dir, "known_hosts")))
	if err := os.WriteFile(cfg, []byte(block.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	alias := strings.Fields(strings.Split(block.String(), "Host ")[1])[0]
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, sshBin, "-F", cfg, "-i", keyFile, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
		"-o", "LogLevel=ERROR", alias, "echo", "hi")
	cmd.Env = append(os.Environ(), "GPUAAS_CONFIG_DIR="+vars["GPUAAS_CONFIG_DIR"], "GPUAAS_SERVER="+env.URL)
	var sout, serr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &sout, &serr
	if err := cmd.Run(); err != nil || sout.String() != "hi\n" {
		t.Errorf("OpenSSH through ProxyCommand: %v, stdout %q, stderr %q", err, sout.String(), serr.String())
	}
}

// TestSSHStreamContainer: SSH through the API's websocket lands in the
// allocation's container on the real engine; sftp is refused where the
// image has no sftp-server.
func TestSSHStreamContainer(t *testing.T) {
	t.Parallel()
	env, c, u, a := containerAllocation(t)
	checkSSH(t, env, c, u, a, "echo $NVIDIA_VISIBLE_DEVICES; cat /proc/1/cmdline", "sleep")
}

// TestSSHStreamSim: the same with the sim runtime, as the agent's user
// with the allocation's GPU in CUDA_VISIBLE_DEVICES.
func TestSSHStreamSim(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t, func(c *config.Server) {
		c.Runtime = "agent"
		c.HeartbeatInterval = 100 * time.Millisecond
	})
	h200Fleet(t, env)
	c, u, a := activeAllocation(t, env)
	checkSSH(t, env, c, u, a, "echo $CUDA_VISIBLE_DEVICES", "")
}

// TestSSHStreamProcessRuntime: the same with the process runtime (root
// only), landing as the allocation's Linux user.
func TestSSHStreamProcessRuntime(t *testing.T) {
	t.Parallel()
	env, c, u, a, _ := processAllocation(t)
	checkSSH(t, env, c, u, a, "echo $CUDA_VISIBLE_DEVICES; whoami", "\n"+process.UsernameFor(a.Id)+"\n")
}
