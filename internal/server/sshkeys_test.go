package server_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"golang.org/x/crypto/ssh"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/server/servertest"
	"github.com/gpuaas/gpuaas/internal/sshkeys"
	"github.com/gpuaas/gpuaas/sdk"
)

// newPubKey returns a fresh ed25519 .pub line with comment, and its key.
func newPubKey(t *testing.T, comment string) (string, ssh.PublicKey) {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))) + " " + comment + "\n", sp
}

func TestSSHKeysAddListDelete(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	owner, ownerUser := env.As("user")
	other, _ := env.As("user")
	line, pub := newPubKey(t, "ada@laptop")

	k, err := owner.AddSSHKey(ctx, "laptop", line)
	if err != nil {
		t.Fatal(err)
	}
	wantKey := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	if k.Name != "laptop" || k.Fingerprint != ssh.FingerprintSHA256(pub) || k.KeyType != "ssh-ed25519" ||
		k.Bits != 256 || k.PublicKey != wantKey || k.CreatedAt.IsZero() {
		t.Fatalf("added %+v", k)
	}
	// Another user may add the very same key to their own account.
	if _, err := other.AddSSHKey(ctx, "shared", line); err != nil {
		t.Fatalf("same key, other user: %v", err)
	}

	list, err := owner.ListSSHKeys(ctx, api.ListSSHKeysParams{})
	if err != nil || len(list.Items) != 1 || list.Items[0] != k || list.NextCursor != "" {
		t.Fatalf("list %+v %v", list, err)
	}

	// Another user's key, and a key that does not exist, are 404 alike.
	wantErr(t, other.DeleteSSHKey(ctx, k.Id), 404, "not_found")
	wantErr(t, owner.DeleteSSHKey(ctx, uuid.New()), 404, "not_found")
	if err := owner.DeleteSSHKey(ctx, k.Id); err != nil {
		t.Fatal(err)
	}
	wantErr(t, owner.DeleteSSHKey(ctx, k.Id), 404, "not_found")
	list, _ = owner.ListSSHKeys(ctx, api.ListSSHKeysParams{})
	if len(list.Items) != 0 {
		t.Fatalf("after delete: %+v", list.Items)
	}
	otherList, _ := other.ListSSHKeys(ctx, api.ListSSHKeysParams{})
	if len(otherList.Items) != 1 {
		t.Fatalf("other user's key went too: %+v", otherList.Items)
	}

	// Both changes are audited, by the owner, with fingerprint and name.
	admin, _ := env.As("admin")
	for _, action := range []string{"ssh_key.add", "ssh_key.delete"} {
		logs, err := admin.AdminListAuditLogs(ctx, api.AdminListAuditLogsParams{Action: ptr(action), ActorUserId: &ownerUser.Id})
		if err != nil {
			t.Fatal(err)
		}
		if len(logs.Items) != 1 {
			t.Fatalf("%s: %d rows", action, len(logs.Items))
		}
		l := logs.Items[0]
		if l.TargetType != "ssh_key" || l.TargetId != k.Id.String() || l.Metadata["fingerprint"] != k.Fingerprint || l.Metadata["name"] != "laptop" {
			t.Fatalf("%s row %+v", action, l)
		}
	}
}

func TestSSHKeysDuplicateAndCap(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	c, _ := env.As("user")
	line, pub := newPubKey(t, "first")
	if _, err := c.AddSSHKey(ctx, "first", line); err != nil {
		t.Fatal(err)
	}
	// The same key with another comment, name and whitespace is still the same key.
	again := "  " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))) + " second\r\n"
	_, err := c.AddSSHKey(ctx, "second", again)
	e := wantErr(t, err, 409, "duplicate_key")
	if !strings.Contains(e.Message, ssh.FingerprintSHA256(pub)) {
		t.Errorf("message %q lacks the fingerprint", e.Message)
	}

	for i := 1; i < sshkeys.MaxPerUser-1; i++ {
		l, _ := newPubKey(t, "")
		if _, err := c.AddSSHKey(ctx, "k", l); err != nil {
			t.Fatalf("key %d: %v", i+1, err)
		}
	}
	// One slot left and several racing for it: exactly one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, capped := 0, 0
	for range 6 {
		l, _ := newPubKey(t, "")
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.AddSSHKey(ctx, "race", l)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				won++
			} else if e, ok := sdk.AsError(err); ok && e.Status == 409 && e.Code == "too_many_keys" {
				capped++
			} else {
				t.Errorf("racing add: %v", err)
			}
		}()
	}
	wg.Wait()
	if won != 1 || capped != 5 {
		t.Fatalf("won %d, capped %d; want 1 and 5", won, capped)
	}

	// Pages: every key once, newest first.
	keys, err := sdk.Collect(ctx, c.SSHKeyPages(api.ListSSHKeysParams{PageSize: ptr(7)}))
	if err != nil || len(keys) != sshkeys.MaxPerUser {
		t.Fatalf("collected %d keys, want %d: %v", len(keys), sshkeys.MaxPerUser, err)
	}
	seen := map[uuid.UUID]bool{}
	for i, k := range keys {
		if seen[k.Id] || (i > 0 && k.CreatedAt.After(keys[i-1].CreatedAt)) {
			t.Fatalf("page order or repeat at %d", i)
		}
		seen[k.Id] = true
	}
	// Deleting one frees a slot.
	if err := c.DeleteSSHKey(ctx, keys[0].Id); err != nil {
		t.Fatal(err)
	}
	l, _ := newPubKey(t, "")
	if _, err := c.AddSSHKey(ctx, "after delete", l); err != nil {
		t.Fatal(err)
	}
}

func TestSSHKeyRoutesRefuseHostileInput(t *testing.T) {
	t.Parallel()
	env := servertest.Start(t)
	c, _ := env.As("user")
	line, _ := newPubKey(t, "me")
	body := func(name, key string) string {
		return `{"name":` + jsonString(name) + `,"public_key":` + jsonString(key) + `}`
	}
	for _, tc := range []struct {
		method, path, body, code string
	}{
		{"POST", "/api/v1/ssh-keys", `{"name":"x","public_key":`, "invalid_request"},
		{"POST", "/api/v1/ssh-keys", `not json`, "invalid_request"},
		{"POST", "/api/v1/ssh-keys", `[]`, "invalid_request"},
		{"POST", "/api/v1/ssh-keys", `{}`, "invalid_request"},
		{"POST", "/api/v1/ssh-keys", `{"name":"x","public_key":"` + strings.TrimSpace(line) + `","extra":1}`, "invalid_request"},
		{"POST", "/api/v1/ssh-keys", `{"name":1,"public_key":"x"}`, "invalid_request"},
		{"POST", "/api/v1/ssh-keys", body("x", line) + `{}`, "invalid_request"},
		{"POST", "/api/v1/ssh-keys", body("", line), "invalid_request"},
		{"POST", "/api/v1/ssh-keys", body(strings.Repeat("n", 65), line), "invalid_request"},
		{"POST", "/api/v1/ssh-keys", body("bad\x1bname", line), "invalid_request"},
		{"POST", "/api/v1/ssh-keys", body("x", ""), "invalid_ssh_key"},
		{"POST", "/api/v1/ssh-keys", body("x", "ssh-ed25519 not-base64"), "invalid_ssh_key"},
		{"POST", "/api/v1/ssh-keys", body("x", `command="rm -rf /" `+line), "invalid_ssh_key"},
		{"POST", "/api/v1/ssh-keys", body("x", line+line), "invalid_ssh_key"},
		{"POST", "/api/v1/ssh-keys", body("x", strings.Repeat("A", 20<<10)), "invalid_ssh_key"},
		{"DELETE", "/api/v1/ssh-keys/not-a-uuid", "", "invalid_request"},
		{"GET", "/api/v1/ssh-keys?cursor=forged", "", "invalid_request"},
		{"GET", "/api/v1/ssh-keys?page_size=0", "", "invalid_request"},
	} {
		status, e, _ := raw(t, c, tc.method, tc.path, tc.body, nil)
		if status != 400 || e["code"] != tc.code {
			t.Errorf("%s %s %.80q: %d %v, want 400 %s", tc.method, tc.path, tc.body, status, e, tc.code)
		}
	}

	// A private key pasted by mistake: refused, named, and never echoed.
	secret := "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n"
	status, e, _ := raw(t, c, "POST", "/api/v1/ssh-keys", body("oops", secret), nil)
	msg, _ := e["message"].(string)
	if status != 400 || e["code"] != "invalid_ssh_key" || !strings.Contains(msg, "private key") || strings.Contains(msg, "b3BlbnNzaC1rZXkt") {
		t.Fatalf("private key: %d %v", status, e)
	}

	// Wrong content type, oversized body, no credentials.
	status, _, _ = raw(t, c, "POST", "/api/v1/ssh-keys", body("x", line), http.Header{"Content-Type": {"text/plain"}})
	if status != 400 {
		t.Fatalf("text/plain: %d", status)
	}
	huge := body("x", strings.Repeat("A", int(env.Config.MaxBodyBytes)))
	status, e, _ = raw(t, c, "POST", "/api/v1/ssh-keys", huge, nil)
	if status != 413 || e["code"] != "payload_too_large" {
		t.Fatalf("oversized: %d %v", status, e)
	}
	anon := env.Client("")
	_, err := anon.ListSSHKeys(ctx, api.ListSSHKeysParams{})
	if err == nil {
		t.Fatal("anonymous list succeeded")
	}
	status, _, _ = raw(t, anon, "DELETE", "/api/v1/ssh-keys/"+uuid.NewString(), "", nil)
	if status != 401 {
		t.Fatalf("anonymous delete: %d", status)
	}
	// Nothing was stored by any of it.
	list, err := c.ListSSHKeys(ctx, api.ListSSHKeysParams{})
	if err != nil || len(list.Items) != 0 {
		t.Fatalf("stored %+v %v", list.Items, err)
	}
}

// jsonString quotes s as a JSON string.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
