package devenv

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// PasswordEnv, when set, is the password of both dev accounts at every start.
const PasswordEnv = "GPUAAS_DEV_PASSWORD"

// PasswordFile is the file under the data directory that keeps the
// generated dev password between starts.
const PasswordFile = "dev-password"

// PasswordSource says where the dev password came from.
type PasswordSource string

const (
	FromEnv       PasswordSource = "env"       // GPUAAS_DEV_PASSWORD
	FromFile      PasswordSource = "file"      // kept from an earlier start
	FromGenerated PasswordSource = "generated" // made now and kept
)

// DevPassword returns the dev accounts' password: GPUAAS_DEV_PASSWORD when
// set; else the one kept in dataDir; else a new random one, which it keeps
// there (mode 0600) so the next start prints the same.
func DevPassword(dataDir string, getenv func(string) string) (string, PasswordSource, error) {
	if p := getenv(PasswordEnv); p != "" {
		return p, FromEnv, nil
	}
	path := filepath.Join(dataDir, PasswordFile)
	b, err := os.ReadFile(path)
	if err == nil {
		if p := strings.TrimSpace(string(b)); p != "" {
			return p, FromFile, nil
		}
		// An empty file is as good as none: replace it below.
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", "", fmt.Errorf("read dev password: %w", err)
	}
	// 26 base32 characters, 130 random bits: far past the 12-character
	// minimum and on no list of common passwords.
	p := rand.Text()
	if err := os.WriteFile(path, []byte(p+"\n"), 0o600); err != nil {
		return "", "", fmt.Errorf("keep dev password: %w", err)
	}
	return p, FromGenerated, nil
}
