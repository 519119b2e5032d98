package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/cli"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
)

func TestCLILoginWithAPIToken(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t)
	session, u := srv.As("user")
	tok, err := session.CreateAPIToken(context.Background(), api.CreateAPITokenRequest{
		Name: "cli", ExpiresAt: time.Now().Add(time.Hour), Scopes: []api.APITokenScope{api.APITokenScopeRead},
	})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"GPUAAS_CONFIG_DIR": t.TempDir(), "GPUAAS_SERVER": srv.URL}
	credPath := filepath.Join(env["GPUAAS_CONFIG_DIR"], "credentials.json")

	// From standard input.
	code, stdout, stderr := run(t, env, tok.Token+"\n", "login", "--token")
	if code != 0 || !strings.Contains(stdout, "as "+u.Username+" (user) with an API token") {
		t.Fatalf("login --token: exit %d, %q %q", code, stdout, stderr)
	}
	creds, err := cli.LoadCredentials(credPath)
	if err != nil || creds.AccessToken != tok.Token || creds.RefreshToken != "" || creds.Username != u.Username {
		t.Fatalf("credentials %+v, %v", creds, err)
	}
	if fi, err := os.Stat(credPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", fi, err)
	}
	if strings.Contains(stdout+stderr, tok.Token) {
		t.Error("login printed the token")
	}
	code, stdout, _ = run(t, env, "", "whoami")
	if code != 0 || !strings.HasPrefix(stdout, u.Username+" (user)") {
		t.Fatalf("whoami: %d %q", code, stdout)
	}
	// Outside its scopes: a 403 with a hint about scopes.
	code, _, stderr = run(t, env, "", "billing", "balance")
	if code != 1 || !strings.Contains(stderr, "HTTP 403") || !strings.Contains(stderr, "scope") {
		t.Fatalf("billing with a read token: exit %d, %q", code, stderr)
	}
	// Logging out forgets it here only.
	code, stdout, _ = run(t, env, "", "logout")
	if code != 0 || !strings.Contains(stdout, "stays valid until revoked") {
		t.Fatalf("logout: %d %q", code, stdout)
	}

	// From $GPUAAS_TOKEN; once revoked, every command is a 401.
	env["GPUAAS_TOKEN"] = tok.Token
	if code, _, stderr := run(t, env, "", "login", "--token"); code != 0 {
		t.Fatalf("login --token from GPUAAS_TOKEN: exit %d, %q", code, stderr)
	}
	if err := session.RevokeAPIToken(context.Background(), tok.Id); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = run(t, env, "", "whoami")
	if code != 1 || !strings.Contains(stderr, "HTTP 401") || !strings.Contains(stderr, "gpuaas login") {
		t.Fatalf("revoked token: exit %d, %q", code, stderr)
	}
	code, _, stderr = run(t, env, "", "login", "--token")
	if code != 1 || !strings.Contains(stderr, "HTTP 401") {
		t.Fatalf("login with a revoked token: exit %d, %q", code, stderr)
	}
}
