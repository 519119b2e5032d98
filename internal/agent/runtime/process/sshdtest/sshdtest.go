// Package sshdtest runs a real OpenSSH server for tests: its own host key
// and configuration on a free loopback port, stopped when the test ends.
// Tests of the process runtime and the agent's end-to-end acceptance test
// log in through it.
package sshdtest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// Path is the OpenSSH server the tests run.
const Path = "/usr/sbin/sshd"

// Server is a running sshd.
type Server struct {
	Addr    string // 127.0.0.1:PORT
	Port    int
	HostKey ssh.PublicKey
}

// Start runs sshd until the test ends and returns its port. See StartServer.
func Start(t testing.TB) int {
	t.Helper()
	return StartServer(t).Port
}

// StartServer runs a real OpenSSH server on a free loopback port with its
// own host key and configuration until the test ends. It skips the test
// when sshd is not installed or the test does not run as root (sshd must
// be root to switch to the users it logs in). The server runs without PAM,
// the stricter case: sshd then refuses accounts whose password field is
// locked with "!", keys or not. Its log is printed when the test fails.
func StartServer(t testing.TB) *Server {
	t.Helper()
	if _, err := os.Stat(Path); err != nil {
		t.Skipf("skipping: no OpenSSH server at %s (install openssh-server)", Path)
	}
	if os.Geteuid() != 0 {
		t.Skip("skipping: a real sshd that logs users in needs root")
	}
	privsepDir(t)
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
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()

	config := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(config, fmt.Appendf(nil, `Port %d
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

	log := &syncBuffer{}
	cmd := exec.Command(Path, "-D", "-e", "-f", config)
	cmd.Stdout, cmd.Stderr = log, log
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
			return &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Port: port, HostKey: hostPub}
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

// privsep guards the creation of sshd's privilege separation directory,
// which tests running in parallel share.
var privsep sync.Mutex

// privsepDir makes sure sshd's privilege separation directory exists; sshd
// insists on it. One this test created is left in place: another sshd may
// still use it.
func privsepDir(t testing.TB) {
	t.Helper()
	privsep.Lock()
	defer privsep.Unlock()
	if _, err := os.Stat("/run/sshd"); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// syncBuffer is a bytes.Buffer that sshd's output and the test's log may
// touch at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
