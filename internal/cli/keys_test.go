package cli_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/gpuaas/gpuaas/api"
)

// writeKeyPair writes an ed25519 pair as NAME and NAME.pub in dir and
// returns the paths and the public key.
func writeKeyPair(t *testing.T, dir, name, comment string) (priv, pub string, key ssh.PublicKey) {
	t.Helper()
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, _ = ssh.NewPublicKey(pk)
	block, err := ssh.MarshalPrivateKey(sk, comment)
	if err != nil {
		t.Fatal(err)
	}
	priv, pub = filepath.Join(dir, name), filepath.Join(dir, name+".pub")
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
	if comment != "" {
		line += " " + comment
	}
	if err := os.WriteFile(priv, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return priv, pub, key
}

func TestKeysUsageErrorsBeforeAnyNetwork(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	priv, _, _ := writeKeyPair(t, dir, "id_ed25519", "me@host")
	env := map[string]string{"GPUAAS_SERVER": "http://127.0.0.1:1"}
	for _, tc := range []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{"keys"}, "", "usage: gpuaas keys"},
		{[]string{"keys", "frob"}, "", "unknown keys command"},
		{[]string{"keys", "add"}, "", "want exactly one PATH"},
		{[]string{"keys", "add", "a.pub", "b.pub"}, "", "want exactly one PATH"},
		{[]string{"keys", "add", priv}, "", "private key, which must never be uploaded; pass " + priv + ".pub"},
		{[]string{"keys", "add", "-"}, "", "- is empty"},
		{[]string{"keys", "add", "-"}, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA\n", "pass --name"},
		{[]string{"keys", "add", "-o", "yaml", "x.pub"}, "", "invalid -o"},
		{[]string{"keys", "rm"}, "", "want exactly one key id"},
		{[]string{"keys", "rm", "not-an-id"}, "", "is not a key id"},
		{[]string{"keys", "ls", "extra"}, "", "unexpected argument"},
	} {
		code, _, stderr := run(t, env, tc.stdin, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

func TestCLIKeys(t *testing.T) {
	t.Parallel()
	url := startServer(t)
	env := map[string]string{"GPUAAS_CONFIG_DIR": t.TempDir(), "GPUAAS_SERVER": url}
	if code, _, stderr := run(t, env, e2ePassword+"\n", "login", "--username", "demo", "--password-stdin"); code != 0 {
		t.Fatalf("login: %s", stderr)
	}
	dir := t.TempDir()
	_, pub, key := writeKeyPair(t, dir, "id_ed25519", "ada@laptop")
	_, pub2, key2 := writeKeyPair(t, dir, "work", "")

	// The name defaults to the key's comment, then to the file name.
	code, stdout, stderr := run(t, env, "", "keys", "add", pub)
	if code != 0 || !strings.Contains(stdout, "ada@laptop") || !strings.Contains(stdout, ssh.FingerprintSHA256(key)) {
		t.Fatalf("keys add: %d %q %q", code, stdout, stderr)
	}
	code, stdout, stderr = run(t, env, "", "keys", "add", pub2, "-o", "json")
	var k2 api.SSHKey
	if code != 0 || json.Unmarshal([]byte(stdout), &k2) != nil || k2.Name != "work.pub" || k2.Fingerprint != ssh.FingerprintSHA256(key2) {
		t.Fatalf("keys add (no comment): %d %q %q", code, stdout, stderr)
	}
	// From standard input with a name; the same key again is a 409.
	line, _ := os.ReadFile(pub)
	code, _, stderr = run(t, env, string(line), "keys", "add", "--name", "again", "-")
	if code != 1 || !strings.Contains(stderr, "duplicate_key") {
		t.Fatalf("duplicate: %d %q", code, stderr)
	}

	code, stdout, _ = run(t, env, "", "keys", "ls", "-o", "json")
	var keys []api.SSHKey
	if code != 0 || json.Unmarshal([]byte(stdout), &keys) != nil || len(keys) != 2 {
		t.Fatalf("keys ls: %d %q", code, stdout)
	}
	code, stdout, _ = run(t, env, "", "keys", "ls")
	if code != 0 || !strings.Contains(stdout, "FINGERPRINT") || !strings.Contains(stdout, "ssh-ed25519 256") {
		t.Fatalf("keys ls table: %d %q", code, stdout)
	}

	if code, stdout, _ = run(t, env, "", "keys", "rm", k2.Id.String()); code != 0 || !strings.Contains(stdout, k2.Id.String()) {
		t.Fatalf("keys rm: %d %q", code, stdout)
	}
	if code, _, stderr = run(t, env, "", "keys", "rm", k2.Id.String()); code != 1 || !strings.Contains(stderr, "not_found") {
		t.Fatalf("keys rm again: %d %q", code, stderr)
	}
	// A bad key is the server's clear 400.
	code, _, stderr = run(t, env, "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQ bad\n", "keys", "add", "--name", "bad", "-")
	if code != 1 || !strings.Contains(stderr, "invalid_ssh_key") {
		t.Fatalf("bad key: %d %q", code, stderr)
	}
}
