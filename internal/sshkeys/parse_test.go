package sshkeys_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/sshkeys"
)

// authorized renders pub as a .pub line with comment.
func authorized(t *testing.T, pub crypto.PublicKey, comment string) (string, ssh.PublicKey) {
	t.Helper()
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp)))
	if comment != "" {
		line += " " + comment
	}
	return line + "\n", sp
}

func ed25519Line(t *testing.T, comment string) (string, ssh.PublicKey) {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return authorized(t, pub, comment)
}

func rsaLine(t *testing.T, bits int) (string, ssh.PublicKey) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return authorized(t, &k.PublicKey, "rsa@host")
}

func TestParseAcceptsSupportedKeys(t *testing.T) {
	type tc struct {
		name string
		line string
		pub  ssh.PublicKey
		typ  string
		bits int
	}
	var cases []tc
	line, pub := ed25519Line(t, "ada@laptop")
	cases = append(cases, tc{"ed25519", line, pub, "ssh-ed25519", 256})
	for _, c := range []struct {
		curve elliptic.Curve
		typ   string
		bits  int
	}{{elliptic.P256(), "ecdsa-sha2-nistp256", 256}, {elliptic.P384(), "ecdsa-sha2-nistp384", 384}, {elliptic.P521(), "ecdsa-sha2-nistp521", 521}} {
		k, err := ecdsa.GenerateKey(c.curve, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		line, pub := authorized(t, &k.PublicKey, "")
		cases = append(cases, tc{c.typ, line, pub, c.typ, c.bits})
	}
	line, pub = rsaLine(t, 2048)
	cases = append(cases, tc{"rsa-2048", line, pub, "ssh-rsa", 2048})
	line, pub = skEd25519Line(t)
	cases = append(cases, tc{"sk-ed25519", line, pub, ssh.KeyAlgoSKED25519, 256})
	// Surrounding whitespace and CRLF line ends, as pasted from Windows.
	line, pub = ed25519Line(t, "with spaces in the comment")
	cases = append(cases, tc{"crlf", "  \r\n" + strings.TrimSpace(line) + "\r\n\r\n", pub, "ssh-ed25519", 256})

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, err := sshkeys.ParseKey(c.line)
			if err != nil {
				t.Fatal(err)
			}
			if k.Fingerprint != ssh.FingerprintSHA256(c.pub) || !strings.HasPrefix(k.Fingerprint, "SHA256:") {
				t.Errorf("fingerprint %q, want %q", k.Fingerprint, ssh.FingerprintSHA256(c.pub))
			}
			want := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(c.pub)))
			if k.PublicKey != want || strings.Count(k.PublicKey, " ") != 1 {
				t.Errorf("public key %q, want %q (no comment)", k.PublicKey, want)
			}
			if k.Type != c.typ || k.Bits != c.bits {
				t.Errorf("type %s/%d, want %s/%d", k.Type, k.Bits, c.typ, c.bits)
			}
		})
	}
	k, _ := sshkeys.ParseKey(cases[0].line)
	if k.Comment != "ada@laptop" {
		t.Errorf("comment %q", k.Comment)
	}
}

func skEd25519Line(t *testing.T) (string, ssh.PublicKey) {
	t.Helper()
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	wire := ssh.Marshal(struct {
		Name        string
		KeyBytes    []byte
		Application string
	}{ssh.KeyAlgoSKED25519, pub, "ssh:"})
	sp, err := ssh.ParsePublicKey(wire)
	if err != nil {
		t.Fatal(err)
	}
	return ssh.KeyAlgoSKED25519 + " " + base64.StdEncoding.EncodeToString(wire) + " yubikey\n", sp
}

func TestParseRefusesBadKeys(t *testing.T) {
	ed, edPub := ed25519Line(t, "me")
	ed2, _ := ed25519Line(t, "")
	rsa1024, _ := rsaLine(t, 1024)

	// A huge RSA modulus, built rather than generated (that would take minutes).
	n := new(big.Int).Lsh(big.NewInt(1), 16400)
	n.Add(n, big.NewInt(1))
	rsaHuge, _ := authorized(t, &rsa.PublicKey{N: n, E: 65537}, "")

	// x/crypto no longer builds DSA keys; write the wire format by hand.
	dsaWire := ssh.Marshal(struct {
		Name       string
		P, Q, G, Y *big.Int
	}{"ssh-dss", big.NewInt(23), big.NewInt(11), big.NewInt(4), big.NewInt(8)})
	dsaLine := "ssh-dss " + base64.StdEncoding.EncodeToString(dsaWire) + " old\n"

	_, caPriv, _ := ed25519.GenerateKey(rand.Reader)
	ca, _ := ssh.NewSignerFromKey(caPriv)
	cert := &ssh.Certificate{Key: edPub, CertType: ssh.UserCert, ValidPrincipals: []string{"me"}, ValidBefore: ssh.CertTimeInfinity}
	if err := cert.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	certLine := string(ssh.MarshalAuthorizedKey(cert))

	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(edPriv)
	pkcs8 := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	openssh, err := ssh.MarshalPrivateKey(edPriv, "")
	if err != nil {
		t.Fatal(err)
	}
	opensshPEM := string(pem.EncodeToMemory(openssh))

	cases := []struct {
		name, text, want string
	}{
		{"empty", "", "required"},
		{"blank", " \n\t", "required"},
		{"garbage", "hello world", "not an OpenSSH public key"},
		{"bad base64", "ssh-ed25519 AAAA!!!! me", "not an OpenSSH public key"},
		{"type only", "ssh-ed25519", "not an OpenSSH public key"},
		{"rsa 1024", rsa1024, "1024-bit RSA"},
		{"rsa huge", rsaHuge, ""}, // x/crypto itself refuses past 16384 bits
		{"dsa", dsaLine, "DSA"},
		{"certificate", certLine, "certificate"},
		{"command option", `command="/bin/sh -c evil" ` + ed, "options"},
		{"no-pty option", "no-pty,from=\"10.0.0.1\" " + ed, "options"},
		{"two lines", ed + ed2, "exactly one key"},
		{"two on one line", strings.TrimSpace(ed2) + " " + ed, "exactly one key"},
		{"comment line", "# my key\n" + ed, "exactly one key"},
		{"pkcs8 private", pkcs8, "private key"},
		{"openssh private", opensshPEM, "private key"},
		{"putty private", "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\n", "private key"},
		{"rfc4716", "---- BEGIN SSH2 PUBLIC KEY ----\nAAAA\n---- END SSH2 PUBLIC KEY ----\n", "RFC 4716"},
		{"too long", strings.TrimSpace(ed) + " " + strings.Repeat("c", 17<<10), "longer than"},
		{"invalid utf8", "ssh-ed25519 \xff\xfe", "UTF-8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := sshkeys.ParseKey(c.text)
			e, ok := apperr.As(err)
			if !ok || e.Kind != apperr.KindInvalid || e.Code != sshkeys.CodeInvalidKey {
				t.Fatalf("want 400 invalid_ssh_key, got %v", err)
			}
			if !strings.Contains(e.Message, c.want) {
				t.Errorf("message %q lacks %q", e.Message, c.want)
			}
			// Never echo what was sent: it may be a secret.
			for _, f := range strings.Fields(c.text) {
				if len(f) > 20 && strings.Contains(e.Message, f) {
					t.Errorf("message echoes the input: %q", e.Message)
				}
			}
		})
	}
}

func TestCheckName(t *testing.T) {
	for in, want := range map[string]string{"laptop": "laptop", "  work key  ": "work key", "clé ✓": "clé ✓",
		strings.Repeat("é", 64): strings.Repeat("é", 64)} {
		got, err := sshkeys.CheckName(in)
		if err != nil || got != want {
			t.Errorf("%q: %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "   ", strings.Repeat("n", 65), "a\nb", "tab\there", "bell\a", "esc\x1b[31m", "rtl\u202eevil", "\xff"} {
		if _, err := sshkeys.CheckName(bad); !apperr.IsKind(err, apperr.KindInvalid) {
			t.Errorf("%q: want invalid, got %v", bad, err)
		}
	}
}
