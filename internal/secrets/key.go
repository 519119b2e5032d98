package secrets

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// KeySize is the master key's length in bytes (AES-256).
const KeySize = 32

// LoadMasterKey reads the master key from path. The file holds exactly 32
// raw bytes, or (surrounding whitespace ignored) 64 hex characters or the
// standard or URL-safe base64 of 32 bytes.
func LoadMasterKey(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read master key file %s: %w", path, err)
	}
	if len(raw) == KeySize {
		return raw, nil
	}
	text := string(bytes.TrimSpace(raw))
	if len(text) == 2*KeySize {
		if k, err := hex.DecodeString(text); err == nil {
			return k, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(text); err == nil && len(k) == KeySize {
			return k, nil
		}
	}
	// Say only the length: the content is (nearly) a secret.
	return nil, fmt.Errorf("master key file %s: want %d raw bytes, %d hex characters or base64 of %d bytes; found %d bytes that are none of these",
		path, KeySize, 2*KeySize, KeySize, len(raw))
}

// GenerateKeyFile writes a fresh random key, hex-encoded, to path with mode
// 0600 (creating its directory with 0700) unless path already exists; it
// reports whether it created the file. An existing file is never replaced:
// doing so would make every sealed secret unreadable.
func GenerateKeyFile(path string) (bool, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return false, fmt.Errorf("create directory for master key %s: %w", path, err)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return false, fmt.Errorf("generate master key: %w", err)
	}
	// O_EXCL makes "only if missing" hold even when two processes race.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create master key file %s: %w", path, err)
	}
	_, werr := f.WriteString(hex.EncodeToString(key) + "\n")
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		// A half-written key file would be loaded as garbage next start.
		_ = os.Remove(path)
		return false, fmt.Errorf("write master key file %s: %w", path, werr)
	}
	return true, nil
}
