package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/gpuaas/gpuaas/internal/password"
	"github.com/gpuaas/gpuaas/internal/secrets"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/dbtest"
)

func TestCreateAdminBootstrapsTheFirstAdmin(t *testing.T) {
	url := dbtest.NewURL(t)
	createAdmin := func(stdin string, args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := runCreateAdmin(append([]string{"--database-url", url}, args...), strings.NewReader(stdin), &out, &errb)
		return code, out.String() + errb.String()
	}
	code, out := createAdmin("root passphrase long enough\n", "--username", "root", "--email", "root@example.com", "--password-stdin")
	if code != 0 || !strings.Contains(out, "created admin root") {
		t.Fatalf("create: %d %s", code, out)
	}
	st, err := store.Open(context.Background(), url, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.GetUserByUsername(context.Background(), "root")
	if err != nil || u.Role != "admin" {
		t.Fatalf("user %+v %v", u, err)
	}
	if ok, _ := password.Verify(u.PasswordHash, "root passphrase long enough"); !ok {
		t.Fatal("password not set")
	}
	// A second run with the same name is refused, naming the problem.
	code, out = createAdmin("root passphrase long enough\n", "--username", "root", "--email", "other@example.com", "--password-stdin")
	if code != exitUsage || !strings.Contains(out, "username_taken") {
		t.Fatalf("duplicate: %d %s", code, out)
	}
	code, out = createAdmin("short\n", "--username", "root2", "--email", "r2@example.com", "--password-stdin")
	if code != exitUsage || !strings.Contains(out, "weak_password") {
		t.Fatalf("weak: %d %s", code, out)
	}
	code, out = createAdmin("", "--email", "r3@example.com")
	if code != exitUsage || !strings.Contains(out, "--username") {
		t.Fatalf("missing username: %d %s", code, out)
	}
}

func TestRotateSigningKey(t *testing.T) {
	url := dbtest.NewURL(t)
	keyFile := t.TempDir() + "/master.key"
	if _, err := secrets.GenerateKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	rotate := func(key string) (int, string) {
		var out, errb bytes.Buffer
		code := runRotateSigningKey([]string{"--database-url", url, "--secret-key-file", key}, &out, &errb)
		return code, out.String() + errb.String()
	}
	for i := 0; i < 2; i++ {
		if code, out := rotate(keyFile); code != 0 || !strings.Contains(out, "new signing key") {
			t.Fatalf("rotate %d: %d %s", i, code, out)
		}
	}
	st, err := store.Open(context.Background(), url, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var active, retired int
	if err := st.Pool().QueryRow(context.Background(),
		`SELECT count(*) FILTER (WHERE retired_at IS NULL), count(*) FILTER (WHERE retired_at IS NOT NULL) FROM signing_keys`).
		Scan(&active, &retired); err != nil {
		t.Fatal(err)
	}
	if active != 1 || retired != 2 {
		t.Fatalf("active %d retired %d, want 1 and 2", active, retired)
	}
	// Another master key cannot open the sealed keys.
	other := t.TempDir() + "/other.key"
	if _, err := secrets.GenerateKeyFile(other); err != nil {
		t.Fatal(err)
	}
	if code, out := rotate(other); code == 0 {
		t.Fatalf("rotation with the wrong master key succeeded: %s", out)
	}
}
