package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/cli"
)

// TestReplaceSSHConfigBlock: the block is appended to a config without
// one, replaces only itself in a config with one, and a repeat changes
// nothing.
func TestReplaceSSHConfigBlock(t *testing.T) {
	t.Parallel()
	block := "# --- gpuaas start ---\nHost gpuaas-a\n  HostName x\n# --- gpuaas end ---\n"
	user := "Host work\n  HostName work.example\n\nInclude other\n"
	once := cli.ReplaceSSHConfigBlock(user, block)
	if once != user+"\n"+block {
		t.Fatalf("append: %q", once)
	}
	if twice := cli.ReplaceSSHConfigBlock(once, block); twice != once {
		t.Fatalf("not idempotent: %q", twice)
	}
	newer := strings.Replace(block, "gpuaas-a", "gpuaas-b", 1)
	middle := "Host before\n" + block + "Host after\n  User me\n"
	if got := cli.ReplaceSSHConfigBlock(middle, newer); got != "Host before\n"+newer+"Host after\n  User me\n" {
		t.Fatalf("replace in the middle: %q", got)
	}
	if got := cli.ReplaceSSHConfigBlock("", block); got != block {
		t.Fatalf("empty config: %q", got)
	}
}

// TestConfigSSH: config-ssh writes one entry per active allocation with
// gpuaas ssh --stdio as ProxyCommand, keeps the rest of an existing
// config, is idempotent, writes 0600, and --dry-run writes nothing.
func TestConfigSSH(t *testing.T) {
	t.Parallel()
	url := startServer(t)
	env := map[string]string{"GPUAAS_CONFIG_DIR": t.TempDir(), "GPUAAS_SERVER": url, "HOME": t.TempDir()}
	if code, _, stderr := run(t, env, e2ePassword+"\n", "login", "--username", "demo", "--password-stdin"); code != 0 {
		t.Fatalf("login: %s", stderr)
	}
	code, stdout, stderr := run(t, env, "", "alloc", "create", "--sku", "a100-80gb-x1", "--name", "nb", "--wait", "-o", "json")
	var a api.Allocation
	if code != 0 || json.Unmarshal([]byte(stdout), &a) != nil {
		t.Fatalf("alloc create: %d %q %q", code, stdout, stderr)
	}
	cfg := filepath.Join(env["HOME"], ".ssh", "config")
	if err := os.MkdirAll(filepath.Dir(cfg), 0o700); err != nil {
		t.Fatal(err)
	}
	mine := "Host work\n  HostName work.example\n"
	if err := os.WriteFile(cfg, []byte(mine), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = run(t, env, "", "config-ssh", "--dry-run", "--gpuaas", "/opt/gpuaas")
	if code != 0 || !strings.Contains(stdout, "Host gpuaas-nb\n  HostName "+a.Id.String()+"\n") ||
		!strings.Contains(stdout, "ProxyCommand /opt/gpuaas ssh --stdio %h") || !strings.Contains(stdout, "StrictHostKeyChecking accept-new") {
		t.Fatalf("dry run: %d %q %q", code, stdout, stderr)
	}
	if b, _ := os.ReadFile(cfg); string(b) != mine {
		t.Fatalf("dry run wrote: %q", b)
	}
	if code, _, stderr = run(t, env, "", "config-ssh", "--gpuaas", "/opt/gpuaas"); code != 0 {
		t.Fatalf("config-ssh: %q", stderr)
	}
	first, _ := os.ReadFile(cfg)
	if !strings.HasPrefix(string(first), mine) || !strings.Contains(string(first), stdout) {
		t.Fatalf("config after: %q", first)
	}
	if fi, _ := os.Stat(cfg); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if code, _, stderr = run(t, env, "", "config-ssh", "--gpuaas", "/opt/gpuaas"); code != 0 {
		t.Fatalf("config-ssh again: %q", stderr)
	}
	if again, _ := os.ReadFile(cfg); string(again) != string(first) {
		t.Fatalf("not idempotent:\n%s\n---\n%s", first, again)
	}
}
