package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/cli"
	"github.com/gpuaas/gpuaas/internal/devenv"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
)

const e2ePassword = "cli end-to-end password"

// startServer runs the real control plane on a fresh database with the dev
// seed, and returns its base URL.
func startServer(t *testing.T) string {
	t.Helper()
	env := servertest.Start(t)
	if _, err := devenv.Seed(context.Background(), env.App, e2ePassword); err != nil {
		t.Fatal(err)
	}
	return env.URL
}

func TestCLIEndToEnd(t *testing.T) {
	t.Parallel()
	url := startServer(t)
	env := map[string]string{"GPUAAS_CONFIG_DIR": t.TempDir(), "GPUAAS_SERVER": url}
	credPath := filepath.Join(env["GPUAAS_CONFIG_DIR"], "credentials.json")

	code, _, stderr := run(t, env, "not the password\n", "login", "--username", "demo", "--password-stdin")
	if code != 1 || !strings.Contains(stderr, "HTTP 401") || !strings.Contains(stderr, "correlation id ") || strings.Contains(stderr, "hint") {
		t.Fatalf("bad password: exit %d, %q", code, stderr)
	}

	code, stdout, stderr := run(t, env, e2ePassword+"\n", "login", "--username", "demo", "--password-stdin")
	if code != 0 || !strings.Contains(stdout, "as demo (user)") {
		t.Fatalf("login: exit %d, %q %q", code, stdout, stderr)
	}
	if fi, err := os.Stat(credPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", fi, err)
	}

	code, stdout, _ = run(t, env, "", "whoami")
	if code != 0 || !strings.HasPrefix(stdout, "demo (user) <demo@gpuaas.local> on "+url) {
		t.Fatalf("whoami: %d %q", code, stdout)
	}

	code, stdout, _ = run(t, env, "", "skus")
	if code != 0 {
		t.Fatalf("skus: exit %d", code)
	}
	for _, want := range []string{"h100-80gb-x8", "8 × NVIDIA H100 80GB HBM3", "USD 19.92", "a100-80gb-x1", "USD 1.49"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("skus table lacks %q:\n%s", want, stdout)
		}
	}
	code, stdout, _ = run(t, env, "", "skus", "-o", "json")
	var skus []api.SKU
	if code != 0 || json.Unmarshal([]byte(stdout), &skus) != nil || len(skus) != len(devenv.SKUs()) {
		t.Fatalf("skus -o json: exit %d, %q", code, stdout)
	}

	code, stdout, _ = run(t, env, "", "nodes", "--status", "online", "--region", "local-1")
	if code != 0 || !strings.Contains(stdout, "sim-h100-01") || strings.Count(stdout, "\n") != 1+len(devenv.SimNodes()) {
		t.Fatalf("nodes: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = run(t, env, "", "nodes", "--status", "offline")
	if code != 0 || strings.Count(stdout, "\n") != 1 {
		t.Fatalf("nodes --status offline: exit %d\n%s", code, stdout)
	}

	// An access token past its expiry is renewed with the refresh token, and
	// the new pair is saved (the old refresh token is spent).
	creds, err := cli.LoadCredentials(credPath)
	if err != nil {
		t.Fatal(err)
	}
	creds.Expiry = time.Now().Add(-time.Minute)
	if err := cli.SaveCredentials(credPath, creds); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := run(t, env, "", "whoami"); code != 0 {
		t.Fatalf("whoami after expiry: %d %q", code, stderr)
	}
	renewed, err := cli.LoadCredentials(credPath)
	if err != nil || renewed.RefreshToken == creds.RefreshToken || !renewed.Expiry.After(time.Now()) {
		t.Fatalf("refreshed credentials not saved: %+v %v", renewed, err)
	}

	// A revoked session gives a 401 with a hint to log in again.
	stale := renewed
	code, stdout, _ = run(t, env, "", "logout")
	if code != 0 || !strings.Contains(stdout, "Logged out") {
		t.Fatalf("logout: %d %q", code, stdout)
	}
	if _, err := os.Stat(credPath); !os.IsNotExist(err) {
		t.Fatalf("credentials kept after logout: %v", err)
	}
	if err := cli.SaveCredentials(credPath, stale); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = run(t, env, "", "whoami")
	if code != 1 || !strings.Contains(stderr, "HTTP 401") || !strings.Contains(stderr, "gpuaas login") {
		t.Fatalf("revoked token: exit %d, %q", code, stderr)
	}
}

// TestCLIAllocationLifecycle walks alloc create --wait, get, ls, release
// --wait (flags after the id) and billing, as a user at a terminal would.
func TestCLIAllocationLifecycle(t *testing.T) {
	t.Parallel()
	url := startServer(t)
	env := map[string]string{"GPUAAS_CONFIG_DIR": t.TempDir(), "GPUAAS_SERVER": url}
	if code, _, stderr := run(t, env, e2ePassword+"\n", "login", "--username", "demo", "--password-stdin"); code != 0 {
		t.Fatalf("login: %s", stderr)
	}
	code, stdout, stderr := run(t, env, "", "alloc", "create", "--sku", "a100-80gb-x1", "--name", "nb", "--wait", "-o", "json")
	var a api.Allocation
	if code != 0 || json.Unmarshal([]byte(stdout), &a) != nil || a.Status != api.AllocationStatusActive {
		t.Fatalf("alloc create --wait: exit %d %q %q", code, stdout, stderr)
	}
	id := a.Id.String()
	if code, stdout, _ = run(t, env, "", "alloc", "get", id); code != 0 || !strings.Contains(stdout, "active") {
		t.Fatalf("alloc get: %d %q", code, stdout)
	}
	if code, stdout, _ = run(t, env, "", "alloc", "release", id, "--wait"); code != 0 || !strings.Contains(stdout, "released") {
		t.Fatalf("alloc release ID --wait: %d %q", code, stdout)
	}
	if code, stdout, _ = run(t, env, "", "alloc", "ls", "--status", "released"); code != 0 || !strings.Contains(stdout, id) {
		t.Fatalf("alloc ls: %d %q", code, stdout)
	}
	if code, _, stderr = run(t, env, "", "alloc", "release", id); code != 1 || !strings.Contains(stderr, "invalid_state") {
		t.Fatalf("second release: %d %q", code, stderr)
	}
	if code, _, _ = run(t, env, "", "alloc", "get", "not-an-id"); code != 2 {
		t.Fatalf("bad id: exit %d, want 2", code)
	}
	if code, stdout, _ = run(t, env, "", "billing", "balance"); code != 0 || !strings.Contains(stdout, "BALANCE") {
		t.Fatalf("billing balance: %d %q", code, stdout)
	}
	if code, stdout, _ = run(t, env, "", "billing", "limits"); code != 0 || !strings.Contains(stdout, "GPUs at once") || !strings.Contains(stdout, "none") {
		t.Fatalf("billing limits: %d %q", code, stdout)
	}
}

// demoInTeam seeds srv with the demo data, makes demo the owner of a new
// team, and signs the CLI in as demo; it returns the CLI's environment,
// demo's id and the team.
func demoInTeam(t *testing.T, srv *servertest.Env, slug, name string) (map[string]string, uuid.UUID, api.Team) {
	t.Helper()
	ctx := context.Background()
	if _, err := devenv.Seed(ctx, srv.App, e2ePassword); err != nil {
		t.Fatal(err)
	}
	demo, err := srv.App.Store.GetUserByUsername(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	team, err := srv.App.Teams.Create(ctx, demo.ID, slug, name)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"GPUAAS_CONFIG_DIR": t.TempDir(), "GPUAAS_SERVER": srv.URL}
	if code, _, stderr := run(t, env, e2ePassword+"\n", "login", "--username", "demo", "--password-stdin"); code != 0 {
		t.Fatalf("login: %s", stderr)
	}
	return env, demo.ID, team
}

// TestCLITeam: --team bills a team the user is in and lists its
// allocations; a team they are not in is not found.
func TestCLITeam(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t)
	ctx := context.Background()
	env, demo, team := demoInTeam(t, srv, "cli-lab", "CLI Lab")
	if _, err := srv.App.Billing.Adjust(ctx, demo, team.Id, 100_000, "cli test grant", "cli-team"); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, env, "", "alloc", "create", "--sku", "a100-80gb-x1", "--team", "cli-lab", "--wait", "-o", "json")
	var a api.Allocation
	if code != 0 || json.Unmarshal([]byte(stdout), &a) != nil || a.TeamId == nil || *a.TeamId != team.Id {
		t.Fatalf("alloc create --team: exit %d %q %q", code, stdout, stderr)
	}
	if code, stdout, _ = run(t, env, "", "alloc", "ls", "--team", "cli-lab"); code != 0 || !strings.Contains(stdout, a.Id.String()) {
		t.Fatalf("alloc ls --team: %d %q", code, stdout)
	}
	if code, stdout, _ = run(t, env, "", "alloc", "ls"); code != 0 || strings.Contains(stdout, a.Id.String()) {
		t.Fatalf("alloc ls (personal) lists the team's: %d %q", code, stdout)
	}
	code, stdout, _ = run(t, env, "", "billing", "balance", "--team", "cli-lab", "-o", "json")
	var b api.BalanceResponse
	if code != 0 || json.Unmarshal([]byte(stdout), &b) != nil || b.BalanceMinor > 100_000 || b.BurnRatePerHourMinor == 0 {
		t.Fatalf("billing balance --team: %d %q", code, stdout)
	}
	if code, _, stderr = run(t, env, "", "alloc", "ls", "--team", "not-mine"); code != 1 || !strings.Contains(stderr, "not_found") {
		t.Fatalf("a team the user is not in: %d %q", code, stderr)
	}
}
