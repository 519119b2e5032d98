package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpuaas/gpuaas/internal/config"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "storage.yaml")
	if err := os.WriteFile(name, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestStorageSettings(t *testing.T) {
	c, err := parse(t, nil, map[string]string{
		"GPUAAS_STORAGE_FS_ROOT":     "/srv/storage",
		"GPUAAS_STORAGE_QUOTA_BYTES": "1024",
		"GPUAAS_STORAGE_CONFIG": writeFile(t, `regions:
  eu-1: {backend: fs, path: /mnt/eu}
  us-1:
    backend: s3
    endpoint: https://s3.example.com
    bucket: gpuaas-files
    prefix: storage/
    region: us-east-1
    access_key_file: /etc/gpuaas/ak
    secret_key_file: /etc/gpuaas/sk
    path_style: true
    price_per_gib_month_minor: 2
`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.StorageFSRoot != "/srv/storage" || c.StorageQuotaBytes != 1024 || len(c.Storage.Regions) != 2 ||
		c.Storage.Regions["us-1"].Bucket != "gpuaas-files" || *c.Storage.Regions["us-1"].PricePerGiBMonthMinor != 2 {
		t.Fatalf("storage settings %+v", c)
	}
	if d := config.DefaultServer(); d.StorageQuotaBytes != 100<<30 || d.StorageFSRoot != "" {
		t.Fatalf("defaults %d %q", d.StorageQuotaBytes, d.StorageFSRoot)
	}
}

func TestStorageSettingsFailFast(t *testing.T) {
	for _, c := range []struct {
		name, body, flag, want string
	}{
		{"unknown backend", "regions: {r1: {backend: nfs, path: /x}}", "storage-config", "backend wants fs or s3"},
		{"relative fs path", "regions: {r1: {backend: fs, path: x}}", "storage-config", "absolute path"},
		{"bad endpoint", "regions: {r1: {backend: s3, endpoint: s3.example.com, bucket: abc, access_key_file: /a, secret_key_file: /b}}", "storage-config", "endpoint"},
		{"bad bucket", "regions: {r1: {backend: s3, endpoint: http://h:9000, bucket: A_B, access_key_file: /a, secret_key_file: /b}}", "storage-config", "bucket"},
		{"bad prefix", "regions: {r1: {backend: s3, endpoint: http://h:9000, bucket: abc, prefix: /x, access_key_file: /a, secret_key_file: /b}}", "storage-config", "prefix"},
		{"no keys", "regions: {r1: {backend: s3, endpoint: http://h:9000, bucket: abc}}", "storage-config", "access_key_file"},
		{"bad slug", "regions: {R_1: {backend: fs, path: /x}}", "storage-config", "slug"},
		{"unknown field", "regions: {r1: {backend: fs, path: /x, colour: red}}", "storage-config", "colour"},
		{"no region", "regions: {}", "storage-config", "no region"},
		{"negative price", "regions: {r1: {backend: fs, path: /x, price_per_gib_month_minor: -1}}", "storage-config", "negative"},
	} {
		_, err := parse(t, []string{"--storage-config", writeFile(t, c.body)}, nil)
		if err == nil || !strings.Contains(err.Error(), "--"+c.flag) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	if _, err := parse(t, []string{"--storage-config", "/nonexistent.yaml"}, nil); err == nil || !strings.Contains(err.Error(), "GPUAAS_STORAGE_CONFIG") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := parse(t, []string{"--storage-quota-bytes", "-1"}, nil); err == nil || !strings.Contains(err.Error(), "--storage-quota-bytes") {
		t.Errorf("negative quota: %v", err)
	}
}
