package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/gpuaas/gpuaas/sdk"
)

// Credentials is what `gpuaas login` keeps between runs.
type Credentials struct {
	Server       string    `json:"server"`
	Username     string    `json:"username,omitempty"`
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	Expiry       time.Time `json:"expiry"`
}

// Tokens is the session part of c.
func (c Credentials) Tokens() sdk.Tokens {
	return sdk.Tokens{AccessToken: c.AccessToken, RefreshToken: c.RefreshToken, Expiry: c.Expiry}
}

// WithTokens returns c holding t.
func (c Credentials) WithTokens(t sdk.Tokens) Credentials {
	c.AccessToken, c.RefreshToken, c.Expiry = t.AccessToken, t.RefreshToken, t.Expiry
	return c
}

// ErrNotLoggedIn means there is no credentials file.
var ErrNotLoggedIn = errors.New("not logged in: run `gpuaas login --server URL --username NAME` first")

// CredentialsPath is $GPUAAS_CONFIG_DIR/credentials.json, or
// credentials.json under gpuaas/ in the user's config directory
// (~/.config/gpuaas on Linux).
func CredentialsPath(getenv func(string) string) (string, error) {
	if dir := getenv("GPUAAS_CONFIG_DIR"); dir != "" {
		return filepath.Join(dir, "credentials.json"), nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find config directory (set GPUAAS_CONFIG_DIR): %w", err)
	}
	return filepath.Join(dir, "gpuaas", "credentials.json"), nil
}

// LoadCredentials reads path; a missing file is ErrNotLoggedIn.
func LoadCredentials(path string) (Credentials, error) {
	var c Credentials
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, ErrNotLoggedIn
	}
	if err != nil {
		return c, fmt.Errorf("read credentials: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("read credentials %s: %w (run `gpuaas login` again)", path, err)
	}
	if c.Server == "" || c.AccessToken == "" {
		return c, fmt.Errorf("credentials %s are incomplete: %w", path, ErrNotLoggedIn)
	}
	return c, nil
}

// SaveCredentials writes c to path with mode 0600, atomically, so an
// interrupted write never leaves half a file (and a spent refresh token).
func SaveCredentials(path string, c Credentials) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create config directory: %w", err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("encode credentials: %w", err)
	}
	f, err := os.CreateTemp(dir, ".credentials-*.json") // created 0600
	if err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) //nolint:errcheck // gone after a successful rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("write credentials: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("write credentials: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write credentials: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	return nil
}

// RemoveCredentials deletes path; a missing file is fine.
func RemoveCredentials(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove credentials: %w", err)
	}
	return nil
}
