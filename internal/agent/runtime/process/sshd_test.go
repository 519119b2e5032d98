package process_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/gpuaas/gpuaas/internal/agent/runtime/process"
	"github.com/gpuaas/gpuaas/internal/agent/runtime/process/sshdtest"
)

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
	srv := sshdtest.StartServer(t)
	addr, hostKey := srv.Addr, srv.HostKey
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
