package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters. They are written into every hash,
// so raising them later only affects new hashes; NeedsRehash tells a caller
// when an old hash should be upgraded at the next successful login.
type Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// Current is the OWASP minimum for argon2id (19 MiB, 2 passes, 1 lane): about
// 20-40 ms on one core of a small server, so a 2-core control plane can take
// a burst of logins without starving everything else.
var Current = Params{MemoryKiB: 19456, Time: 2, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
)

// Bounds on parameters read from a stored hash, so a corrupt or hostile row
// cannot make one verification allocate gigabytes or spin for minutes.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 16
	maxThreads   = 16
)

// ErrMalformed means a stored hash is not an argon2id PHC string this
// package can verify.
var ErrMalformed = errors.New("password: malformed hash")

var b64 = base64.RawStdEncoding

// Hash returns pw hashed with argon2id under Current, as
// $argon2id$v=19$m=...,t=...,p=...$salt$hash.
func Hash(pw string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("read salt: %w", err)
	}
	p := Current
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether pw matches hash. A hash it cannot parse is an
// error (wrapping ErrMalformed), never a silent false.
func Verify(hash, pw string) (bool, error) {
	d, err := decode(hash)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(pw), d.salt, d.p.Time, d.p.MemoryKiB, d.p.Threads, uint32(len(d.key)))
	return subtle.ConstantTimeCompare(got, d.key) == 1, nil
}

// NeedsRehash reports whether hash was made with parameters other than
// Current (or cannot be read), so the caller should store a fresh Hash.
func NeedsRehash(hash string) bool {
	d, err := decode(hash)
	return err != nil || d.p != Current || len(d.key) != keyLen
}

var (
	dummyOnce sync.Once
	dummyHash string
)

// DummyVerify spends the time of one real Verify and returns nothing, so a
// login for a user that does not exist takes as long as a wrong password
// and response times do not reveal which usernames exist.
func DummyVerify() {
	dummyOnce.Do(func() {
		h, err := Hash("dummy password for timing only")
		if err != nil {
			// Without randomness nothing else works either; still spend
			// comparable time below with a fixed salt.
			h = "$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		}
		dummyHash = h
	})
	_, _ = Verify(dummyHash, "not the password")
}

type decoded struct {
	p    Params
	salt []byte
	key  []byte
}

func decode(hash string) (decoded, error) {
	var d decoded
	parts := strings.Split(hash, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return d, fmt.Errorf("%w: not an argon2id PHC string", ErrMalformed)
	}
	if parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return d, fmt.Errorf("%w: unsupported version %q", ErrMalformed, parts[2])
	}
	var m, t, p uint32
	n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p)
	// Re-render to refuse trailing junk and leading zeros Sscanf would skip.
	if err != nil || n != 3 || parts[3] != fmt.Sprintf("m=%d,t=%d,p=%d", m, t, p) {
		return d, fmt.Errorf("%w: bad parameters %q", ErrMalformed, parts[3])
	}
	if m < 8 || m > maxMemoryKiB || t < 1 || t > maxTime || p < 1 || p > maxThreads || m < 8*p {
		return d, fmt.Errorf("%w: parameters out of range %q", ErrMalformed, parts[3])
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return d, fmt.Errorf("%w: bad salt", ErrMalformed)
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return d, fmt.Errorf("%w: bad key", ErrMalformed)
	}
	d.p = Params{MemoryKiB: m, Time: t, Threads: uint8(p)}
	d.salt, d.key = salt, key
	return d, nil
}
