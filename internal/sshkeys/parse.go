package sshkeys

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/base64"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/ssh"

	"github.com/gpuaas/gpuaas/internal/apperr"
)

// CodeInvalidKey is the 400 code for a public key we will not store.
const CodeInvalidKey = "invalid_ssh_key"

// Limits on what a user may send.
const (
	MaxKeyBytes  = 16 << 10
	MaxNameRunes = 64
	MinRSABits   = 2048
	MaxRSABits   = 16384
)

// Key is a vetted public key.
type Key struct {
	// PublicKey is "type base64", without options or comment.
	PublicKey string
	// Fingerprint is "SHA256:..." as `ssh-keygen -lf` prints it.
	Fingerprint string
	Type        string
	Bits        int
	// Comment is what followed the key, for a default name; never stored.
	Comment string
}

func invalidKey(format string, args ...any) error {
	return apperr.InvalidCode(CodeInvalidKey, format, args...)
}

// ParseKey vets one OpenSSH public key line as found in a .pub file. Its
// errors never quote the input, which may be a secret pasted by mistake.
func ParseKey(text string) (Key, error) {
	if len(text) > MaxKeyBytes {
		return Key{}, invalidKey("public_key is longer than %d bytes; paste the one line of a .pub file", MaxKeyBytes)
	}
	if strings.Contains(text, "PRIVATE KEY") || strings.Contains(text, "PuTTY-User-Key-File") {
		return Key{}, invalidKey("public_key holds a private key; never share it. Paste the .pub file " +
			"(e.g. ~/.ssh/id_ed25519.pub) instead, and consider that private key exposed")
	}
	if strings.Contains(text, "BEGIN SSH2 PUBLIC KEY") {
		return Key{}, invalidKey("public_key is in RFC 4716 (SSH2) format; convert it with `ssh-keygen -i -f KEY.pub`")
	}
	line := strings.TrimSpace(text)
	if line == "" {
		return Key{}, invalidKey("public_key is required")
	}
	if !utf8.ValidString(line) {
		return Key{}, invalidKey("public_key is not valid UTF-8")
	}
	if strings.ContainsAny(line, "\r\n") {
		return Key{}, invalidKey("public_key must hold exactly one key on one line; add several keys one by one")
	}
	if f := strings.Fields(line); f[0] == ssh.KeyAlgoDSA || (len(f) > 1 && f[1] == ssh.KeyAlgoDSA) {
		return Key{}, invalidKey(dsaMessage)
	}
	pub, comment, options, rest, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return Key{}, invalidKey("public_key is not an OpenSSH public key (want a line like \"ssh-ed25519 AAAA... comment\")")
	}
	if len(options) > 0 {
		return Key{}, invalidKey("public_key must not carry authorized_keys options such as command= or from=; paste the bare key")
	}
	if len(strings.TrimSpace(string(rest))) > 0 || holdsKey(comment) {
		return Key{}, invalidKey("public_key must hold exactly one key; add several keys one by one")
	}
	k := Key{
		PublicKey:   strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))),
		Fingerprint: ssh.FingerprintSHA256(pub),
		Type:        pub.Type(),
		Comment:     comment,
	}
	if k.Bits, err = vetType(pub); err != nil {
		return Key{}, err
	}
	return k, nil
}

const dsaMessage = "public_key is a DSA key, which OpenSSH no longer accepts; generate one with `ssh-keygen -t ed25519`"

// holdsKey reports whether a comment carries another key ("ssh-ed25519
// AAAA... ssh-ed25519 AAAA..." on one line), which would otherwise be
// silently dropped with the comment.
func holdsKey(comment string) bool {
	for _, f := range strings.Fields(comment) {
		if b, err := base64.StdEncoding.DecodeString(f); err == nil {
			if _, err := ssh.ParsePublicKey(b); err == nil {
				return true
			}
		}
	}
	return false
}

// vetType accepts the key types we support and returns the key's size.
func vetType(pub ssh.PublicKey) (int, error) {
	switch pub.Type() {
	case ssh.KeyAlgoED25519, ssh.KeyAlgoSKED25519:
		return 256, nil
	case ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521, ssh.KeyAlgoSKECDSA256:
		if cp, ok := pub.(ssh.CryptoPublicKey); ok {
			if ec, ok := cp.CryptoPublicKey().(*ecdsa.PublicKey); ok {
				return ec.Curve.Params().BitSize, nil
			}
		}
		// Security-key ECDSA keys do not expose a crypto key; the type names the curve.
		return 256, nil
	case ssh.KeyAlgoRSA:
		cp, ok := pub.(ssh.CryptoPublicKey)
		if !ok {
			return 0, invalidKey("public_key is an RSA key that cannot be read")
		}
		rk, ok := cp.CryptoPublicKey().(*rsa.PublicKey)
		if !ok {
			return 0, invalidKey("public_key is an RSA key that cannot be read")
		}
		bits := rk.N.BitLen()
		if bits < MinRSABits {
			return 0, invalidKey("public_key is a %d-bit RSA key; at least %d bits are required (better: ssh-keygen -t ed25519)", bits, MinRSABits)
		}
		if bits > MaxRSABits {
			return 0, invalidKey("public_key is a %d-bit RSA key; at most %d bits are accepted", bits, MaxRSABits)
		}
		return bits, nil
	case ssh.KeyAlgoDSA:
		return 0, invalidKey(dsaMessage)
	}
	if strings.Contains(pub.Type(), "-cert-") {
		return 0, invalidKey("public_key is an SSH certificate; paste the plain public key instead")
	}
	return 0, invalidKey("public_key has type %q; accepted are ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa (2048 bits or more) "+
		"and the sk- security-key types", pub.Type())
}

// CheckName trims name and checks it is 1 to 64 printable characters.
func CheckName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", apperr.Invalid("name is required")
	case !utf8.ValidString(name):
		return "", apperr.Invalid("name is not valid UTF-8")
	case utf8.RuneCountInString(name) > MaxNameRunes:
		return "", apperr.Invalid("name must be at most %d characters", MaxNameRunes)
	case strings.IndexFunc(name, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }) >= 0:
		return "", apperr.Invalid("name must not contain control characters")
	}
	return name, nil
}
