package docker

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/registry"
)

// Credentials are the registry logins the operator configured, by
// registry host, read from a Docker CLI config file (LoadCredentials).
type Credentials map[string]registry.AuthConfig

// LoadCredentials reads the "auths" of a Docker CLI config.json (what
// `docker login` writes): per registry, "auth" (base64 of user:password)
// or "username" and "password", or an "identitytoken". Credential helpers
// ("credsStore") are not followed. The file's secrets are never logged.
func LoadCredentials(path string) (Credentials, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read registry credentials: %w", err)
	}
	var f struct {
		Auths map[string]struct {
			Auth          string `json:"auth"`
			Username      string `json:"username"`
			Password      string `json:"password"`
			IdentityToken string `json:"identitytoken"`
		} `json:"auths"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("read registry credentials %s: not a Docker config.json", path)
	}
	out := Credentials{}
	for host, a := range f.Auths {
		ac := registry.AuthConfig{Username: a.Username, Password: a.Password, IdentityToken: a.IdentityToken}
		if a.Auth != "" {
			raw, err := base64.StdEncoding.DecodeString(a.Auth)
			user, pass, ok := strings.Cut(string(raw), ":")
			if err != nil || !ok {
				return nil, fmt.Errorf("read registry credentials %s: the auth of %s is not base64 of user:password", path, host)
			}
			ac.Username, ac.Password = user, pass
		}
		key := registryKey(host)
		ac.ServerAddress = key
		out[key] = ac
	}
	return out, nil
}

// registryKey normalises a config.json key ("https://index.docker.io/v1/",
// "registry.example.com:5000", "https://ghcr.io") to the host a reference
// names ("docker.io", "registry.example.com:5000", "ghcr.io").
func registryKey(host string) string {
	h := strings.TrimPrefix(strings.TrimPrefix(host, "https://"), "http://")
	h, _, _ = strings.Cut(h, "/")
	switch h {
	case "index.docker.io", "registry-1.docker.io":
		return "docker.io"
	}
	return h
}

// For is the X-Registry-Auth value for pulling image, or "" when no
// login is configured for its registry.
func (c Credentials) For(image string) (string, error) {
	if len(c) == 0 {
		return "", nil
	}
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return "", fmt.Errorf("%w: image reference %q: %v", ErrInvalid, image, err)
	}
	ac, ok := c[reference.Domain(named)]
	if !ok {
		return "", nil
	}
	return registry.EncodeAuthConfig(ac)
}
