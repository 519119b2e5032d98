package secrets_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpuaas/gpuaas/internal/secrets"
)

func randKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, secrets.KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func TestLoadMasterKeyFormats(t *testing.T) {
	key := randKey(t)
	dir := t.TempDir()
	for name, content := range map[string][]byte{
		"raw":           key,
		"hex":           []byte(hex.EncodeToString(key)),
		"hex newline":   []byte("  " + strings.ToUpper(hex.EncodeToString(key)) + "\n"),
		"base64":        []byte(base64.StdEncoding.EncodeToString(key) + "\n"),
		"base64 url":    []byte(base64.RawURLEncoding.EncodeToString(key)),
		"base64 padded": []byte("\t" + base64.URLEncoding.EncodeToString(key) + "\r\n"),
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		if err := os.WriteFile(p, content, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := secrets.LoadMasterKey(p)
		if err != nil || !bytes.Equal(got, key) {
			t.Errorf("%s: key=%x err=%v", name, got, err)
		}
	}
}

func TestLoadMasterKeyErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"short":      "abc",
		"hex 31":     strings.Repeat("ab", 31),
		"not hex":    strings.Repeat("zz", 32),
		"base64 16":  base64.StdEncoding.EncodeToString(make([]byte, 16)),
		"33 bytes":   strings.Repeat("k", 33),
		"empty file": "",
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := secrets.LoadMasterKey(p)
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: err=%v, want an error naming %s", name, err, p)
		}
		if err != nil && content != "" && strings.Contains(err.Error(), content) {
			t.Errorf("%s: error leaks the file content: %v", name, err)
		}
	}
	missing := filepath.Join(dir, "missing")
	if _, err := secrets.LoadMasterKey(missing); err == nil || !strings.Contains(err.Error(), missing) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestGenerateKeyFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nested", "dir", "master.key")
	created, err := secrets.GenerateKeyFile(p)
	if err != nil || !created {
		t.Fatalf("first generate: created=%v err=%v", created, err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
	}
	di, _ := os.Stat(filepath.Dir(p))
	if di.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, want 0700", di.Mode().Perm())
	}
	k1, err := secrets.LoadMasterKey(p)
	if err != nil || len(k1) != secrets.KeySize {
		t.Fatalf("load generated: %v", err)
	}
	created, err = secrets.GenerateKeyFile(p)
	if err != nil || created {
		t.Fatalf("second generate: created=%v err=%v", created, err)
	}
	k2, _ := secrets.LoadMasterKey(p)
	if !bytes.Equal(k1, k2) {
		t.Fatal("existing key file was replaced")
	}
}

func TestSealOpen(t *testing.T) {
	key := randKey(t)
	msg := []byte("ed25519 seed, 32 bytes long.....")
	sealed, err := secrets.Seal(key, msg, []byte("kid-1"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, msg) {
		t.Fatal("sealed output contains the plaintext")
	}
	if sealed[0] != 1 || len(sealed) != 1+12+len(msg)+16 {
		t.Fatalf("layout: version %d, len %d", sealed[0], len(sealed))
	}
	again, _ := secrets.Seal(key, msg, []byte("kid-1"))
	if bytes.Equal(sealed[1:13], again[1:13]) {
		t.Fatal("nonce repeated")
	}
	got, err := secrets.Open(key, sealed, []byte("kid-1"))
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("open: %q %v", got, err)
	}

	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	badVersion := bytes.Clone(sealed)
	badVersion[0] = 2
	for name, tc := range map[string]struct {
		key, sealed, aad []byte
	}{
		"wrong key":   {randKey(t), sealed, []byte("kid-1")},
		"wrong aad":   {key, sealed, []byte("kid-2")},
		"tampered":    {key, tampered, []byte("kid-1")},
		"bad version": {key, badVersion, []byte("kid-1")},
		"truncated":   {key, sealed[:20], []byte("kid-1")},
	} {
		if _, err := secrets.Open(tc.key, tc.sealed, tc.aad); !errors.Is(err, secrets.ErrOpen) {
			t.Errorf("%s: err=%v, want ErrOpen", name, err)
		}
	}
	if _, err := secrets.Seal(key[:16], msg, nil); err == nil {
		t.Error("seal with a 16-byte key succeeded")
	}
}

func TestTokenIsPrefixedRandomBase64URL(t *testing.T) {
	a, b := secrets.Token("gpt_"), secrets.Token("gpt_")
	if a == b {
		t.Fatal("two tokens are equal")
	}
	if !strings.HasPrefix(a, "gpt_") || len(a) != len("gpt_")+43 {
		t.Fatalf("token %q: want gpt_ and 43 base64url characters", a)
	}
	if _, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(a, "gpt_")); err != nil {
		t.Fatalf("token %q is not base64url: %v", a, err)
	}
}
