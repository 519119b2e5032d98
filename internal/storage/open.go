package storage

import (
	"fmt"
	"os"
	"strings"

	"github.com/gpuaas/gpuaas/internal/config"
)

// FromConfig builds the Service's configuration from the server's
// settings: --storage-fs-root for every region not in --storage-config,
// and the file's backends. The fs root is created (0700) when missing.
func FromConfig(cfg config.Server) (Config, error) {
	out := Config{Regions: map[string]Backend{}, DefaultQuota: cfg.StorageQuotaBytes}
	if cfg.StorageFSRoot != "" {
		if err := os.MkdirAll(cfg.StorageFSRoot, 0o700); err != nil {
			return out, config.Invalid("storage-fs-root", "%v", err)
		}
		b, err := NewFS(cfg.StorageFSRoot)
		if err != nil {
			return out, config.Invalid("storage-fs-root", "%v", err)
		}
		out.Default = b
	}
	for slug, r := range cfg.Storage.Regions {
		switch r.Backend {
		case "fs":
			if err := os.MkdirAll(r.Path, 0o700); err != nil {
				return out, config.Invalid("storage-config", "region %s: %v", slug, err)
			}
			b, err := NewFS(r.Path)
			if err != nil {
				return out, config.Invalid("storage-config", "region %s: %v", slug, err)
			}
			out.Regions[slug] = b
		case "s3":
			ak, err := readKey(r.AccessKeyFile)
			if err != nil {
				return out, config.Invalid("storage-config", "region %s: access_key_file: %v", slug, err)
			}
			sk, err := readKey(r.SecretKeyFile)
			if err != nil {
				return out, config.Invalid("storage-config", "region %s: secret_key_file: %v", slug, err)
			}
			b, err := NewS3(S3Config{Endpoint: r.Endpoint, Bucket: r.Bucket, Prefix: r.Prefix, Region: r.Region,
				AccessKey: ak, SecretKey: sk, PathStyle: r.PathStyle})
			if err != nil {
				return out, config.Invalid("storage-config", "region %s: %v", slug, err)
			}
			out.Regions[slug] = b
		}
	}
	return out, nil
}

func readKey(name string) (string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return "", err
	}
	k := strings.TrimSpace(string(b))
	if k == "" {
		return "", fmt.Errorf("%s is empty", name)
	}
	return k, nil
}
