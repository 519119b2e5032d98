package cli_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gpuaas/gpuaas/internal/cli"
	"github.com/gpuaas/gpuaas/sdk"
)

type sdkError = sdk.Error

func TestCredentialsRoundTrip(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "nested", "gpuaas")
	path, err := cli.CredentialsPath(func(k string) string {
		if k == "GPUAAS_CONFIG_DIR" {
			return dir
		}
		return ""
	})
	if err != nil || path != filepath.Join(dir, "credentials.json") {
		t.Fatalf("path %q, %v", path, err)
	}
	if _, err := cli.LoadCredentials(path); !errors.Is(err, cli.ErrNotLoggedIn) {
		t.Fatalf("missing file: want ErrNotLoggedIn, got %v", err)
	}
	want := cli.Credentials{Server: "http://127.0.0.1:8080", Username: "demo", AccessToken: "a", RefreshToken: "r",
		Expiry: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := cli.SaveCredentials(path, want); err != nil {
		t.Fatal(err)
	}
	for p, mode := range map[string]os.FileMode{path: 0o600, dir: 0o700} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s has mode %o, want %o", p, fi.Mode().Perm(), mode)
		}
	}
	got, err := cli.LoadCredentials(path)
	if err != nil || got != want {
		t.Fatalf("got %+v, %v", got, err)
	}

	// Overwriting keeps 0600 even over a file someone loosened, and leaves
	// no temporary files behind.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	want.AccessToken = "a2"
	if err := cli.SaveCredentials(path, want); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %o after overwrite", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("leftover files: %v", entries)
	}

	if err := cli.RemoveCredentials(path); err != nil {
		t.Fatal(err)
	}
	if err := cli.RemoveCredentials(path); err != nil {
		t.Fatalf("removing twice: %v", err)
	}
}

func TestLoadCredentialsRejectsGarbage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, body := range map[string]string{"bad.json": "{not json", "empty.json": "{}"} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o600)
		if _, err := cli.LoadCredentials(p); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

func TestTokensRoundTrip(t *testing.T) {
	t.Parallel()
	c := cli.Credentials{Server: "s"}.WithTokens(sdk.Tokens{AccessToken: "a", RefreshToken: "r"})
	if c.Server != "s" || c.Tokens().AccessToken != "a" || c.Tokens().RefreshToken != "r" {
		t.Fatalf("%+v", c)
	}
}

// run runs a verb with a config dir of its own and no terminal.
func run(t *testing.T, env map[string]string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	if _, ok := env["GPUAAS_CONFIG_DIR"]; !ok {
		env["GPUAAS_CONFIG_DIR"] = t.TempDir()
	}
	var out, errb bytes.Buffer
	code = cli.Run(context.Background(), cli.Env{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return env[k] },
	}, args[0], args[1:])
	return code, out.String(), errb.String()
}

func TestUsageErrorsExit2BeforeAnyNetwork(t *testing.T) {
	t.Parallel()
	// The server URL points nowhere; each case must fail before dialling.
	env := map[string]string{"GPUAAS_SERVER": "http://127.0.0.1:1"}
	cases := []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{"login"}, "", "missing --username"},
		{[]string{"login", "--username", "demo"}, "", "no password"},
		{[]string{"login", "--username", "demo", "--password-stdin"}, "", "standard input is empty"},
		{[]string{"login", "--server", "ftp://x", "--username", "demo"}, "", "invalid --server"},
		{[]string{"login", "--bogus"}, "", "flag provided but not defined"},
		{[]string{"login", "--token"}, "", "set GPUAAS_TOKEN"},
		{[]string{"login", "--token"}, "not-a-token\n", "starts with gpat_"},
		{[]string{"skus", "-o", "yaml"}, "", "invalid -o"},
		{[]string{"nodes", "--status", "busy"}, "", "invalid --status"},
		{[]string{"whoami", "extra"}, "", "unexpected argument"},
	}
	for _, tc := range cases {
		code, _, stderr := run(t, env, tc.stdin, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

func TestNotLoggedIn(t *testing.T) {
	t.Parallel()
	for _, verb := range []string{"whoami", "skus", "nodes"} {
		code, _, stderr := run(t, nil, "", verb)
		if code != 1 || !strings.Contains(stderr, "gpuaas login") {
			t.Errorf("%s: exit %d, stderr %q", verb, code, stderr)
		}
	}
	code, stdout, _ := run(t, nil, "", "logout")
	if code != 0 || !strings.Contains(stdout, "Not logged in") {
		t.Errorf("logout: exit %d, %q", code, stdout)
	}
}

func TestLoginUnreachableServer(t *testing.T) {
	t.Parallel()
	code, _, stderr := run(t, nil, "a long password\n", "login", "--server", "http://127.0.0.1:1", "--username", "demo", "--password-stdin")
	if code != 1 || !strings.Contains(stderr, "cannot reach http://127.0.0.1:1") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestHelpExitsZero(t *testing.T) {
	t.Parallel()
	code, _, stderr := run(t, nil, "", "nodes", "--help")
	if code != 0 || !strings.Contains(stderr, "usage: gpuaas nodes") || !strings.Contains(stderr, "-status") {
		t.Errorf("exit %d, %q", code, stderr)
	}
}
