package process_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/gpuaas/gpuaas/internal/agent/runtime/process"
)

const sshdPath = "/usr/sbin/sshd"

// startSSHD runs a real OpenSSH server on a free loopback port with its own
// host key and configuration, and returns its address and host key. It
// runs without PAM, the stricter case: sshd then refuses accounts whose
// password field is locked with "!", keys or not.
func startSSHD(t *testing.T) (string, ssh.PublicKey) {
	t.Helper()
	if _, err := os.Stat(sshdPath); err != nil {
		t.Skipf("skipping: no OpenSSH server at %s (install openssh-server)", sshdPath)
	}
	// sshd insists on its privilege separation directory.
	if _, err := os.Stat("/run/sshd"); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Remove("/run/sshd") })
	}
	dir := t.TempDir()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	hostKey := filepath.Join(dir, "ssh_host_ed25519_key")
	if err := os.WriteFile(hostKey, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	hostPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	_ = l.Close()

	config := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(config, fmt.Appendf(nil, `Port %s
ListenAddress 127.0.0.1
HostKey %s
PidFile %s
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin no
StrictModes yes
AuthorizedKeysFile .ssh/authorized_keys
LogLevel VERBOSE
`, port, hostKey, filepath.Join(dir, "sshd.pid")), 0o600); err != nil {
		t.Fatal(err)
	}

	var log bytes.Buffer
	cmd := exec.Command(sshdPath, "-D", "-e", "-f", config)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("sshd log:\n%s", log.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return addr, hostPub
		}
		select {
		case <-exited:
			t.Fatalf("sshd exited: %s", log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd did not listen on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func dialSSH(addr string, hostKey ssh.PublicKey, user string, signer ssh.Signer) (*ssh.Client, error) {
	return ssh.Dial("tcp", addr, &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.FixedHostKey(hostKey),
		Timeout:         10 * time.Second,
	})
}

// TestRealSSHD logs in through a real sshd with the workload's key and
// checks the pinned env in both `ssh host CMD` and a login shell.
func TestRealSSHD(t *testing.T) {
	requireRoot(t)
	addr, hostKey := startSSHD(t)
	rt := &process.Runtime{}
	key, signer := newKey(t)
	w := newWorkload(t)
	w.AuthorizedKeys = []string{key}
	provision(t, rt, w)
	name := login(w)

	client, err := dialSSH(addr, hostKey, name, signer)
	if err != nil {
		t.Fatalf("ssh %s@%s: %v", name, addr, err)
	}
	defer client.Close()

	// ssh host CMD
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := sess.Output(printEnv)
	_ = sess.Close()
	if err != nil {
		t.Fatalf("ssh host CMD: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != wantEnv(w) {
		t.Errorf("ssh host CMD: got %q, want %q", got, wantEnv(w))
	}

	// ssh host: no command, so sshd starts a login shell; no PTY so the
	// output is only what we print.
	sess, err = client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	sess.Stdout = &stdout
	sess.Stdin = strings.NewReader("shopt -q login_shell && echo login\n" + printEnv + "\nexit\n")
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	if err := sess.Wait(); err != nil {
		t.Fatalf("login shell: %v", err)
	}
	_ = sess.Close()
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) < 2 || lines[len(lines)-2] != "login" || lines[len(lines)-1] != wantEnv(w) {
		t.Errorf("login shell printed %q, want \"login\" then %q", stdout.String(), wantEnv(w))
	}

	// New keys replace the old ones.
	newKeyLine, newSigner := newKey(t)
	w.AuthorizedKeys = []string{newKeyLine}
	if err := rt.Provision(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	if c, err := dialSSH(addr, hostKey, name, signer); err == nil {
		_ = c.Close()
		t.Error("the replaced key still logs in")
	}
	c, err := dialSSH(addr, hostKey, name, newSigner)
	if err != nil {
		t.Fatalf("the new key does not log in: %v", err)
	}
	_ = c.Close()

	// Why the password field is "*": "!" would lock the keys out too.
	run(t, "usermod", "--password", "!", name)
	if c, err := dialSSH(addr, hostKey, name, newSigner); err == nil {
		_ = c.Close()
		t.Log("note: this sshd lets a \"!\"-locked account in by key")
	}
	run(t, "usermod", "--password", "*", name)

	// After release the user is gone and so is the login.
	client.Close()
	if err := rt.Release(context.Background(), w); err != nil {
		t.Fatalf("release: %v", err)
	}
	if c, err := dialSSH(addr, hostKey, name, newSigner); err == nil {
		_ = c.Close()
		t.Error("a released user still logs in")
	}
}
