// Package storagetest finds the S3-compatible server the storage tests run
// against: GPUAAS_TEST_S3_ENDPOINT, which `make test` sets to the
// versitygw that scripts/ensure-services.sh builds and starts. Without it
// a test skips, except in CI (CI=true), where it fails.
package storagetest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/minio/minio-go/v7"

	"github.com/gpuaas/gpuaas/internal/storage"
)

// The test server's fixed credentials (scripts/ensure-services.sh).
const (
	AccessKey = "gpuaas-test"
	SecretKey = "gpuaas-test-secret"
)

// Endpoint returns http://host:port of the S3 server, or skips t (fails it
// when CI=true) when none is configured.
func Endpoint(t testing.TB) string {
	t.Helper()
	if e := os.Getenv("GPUAAS_TEST_S3_ENDPOINT"); e != "" {
		return e
	}
	const why = "GPUAAS_TEST_S3_ENDPOINT is not set: run `scripts/ensure-services.sh s3` and export the GPUAAS_TEST_S3_ENDPOINT it prints (make test does both)"
	if os.Getenv("CI") == "true" {
		t.Fatal("S3 server required in CI: " + why)
	}
	t.Skip("no S3 server: " + why)
	return ""
}

// Bucket makes a bucket of the test's own (removed with its objects when
// the test ends) and returns the backend's settings for it, under prefix.
func Bucket(t testing.TB, prefix string) storage.S3Config {
	t.Helper()
	cfg := storage.S3Config{Endpoint: Endpoint(t), Bucket: "t-" + strings.ReplaceAll(uuid.NewString(), "-", "")[:20],
		Prefix: prefix, Region: "us-east-1", AccessKey: AccessKey, SecretKey: SecretKey, PathStyle: true}
	b, err := storage.NewS3(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Client().MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("make bucket %s: %v", cfg.Bucket, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		c := b.Client()
		for oi := range c.ListObjects(ctx, cfg.Bucket, minio.ListObjectsOptions{Recursive: true}) {
			if oi.Err == nil {
				_ = c.RemoveObject(ctx, cfg.Bucket, oi.Key, minio.RemoveObjectOptions{})
			}
		}
		_ = c.RemoveBucket(ctx, cfg.Bucket)
	})
	return cfg
}

// ConfigFile writes a --storage-config naming region's s3 backend cfg,
// with its key files, in dir, and returns its path.
func ConfigFile(t testing.TB, dir, region string, cfg storage.S3Config) string {
	t.Helper()
	ak, sk := filepath.Join(dir, "s3-access"), filepath.Join(dir, "s3-secret")
	must(t, os.WriteFile(ak, []byte(cfg.AccessKey+"\n"), 0o600))
	must(t, os.WriteFile(sk, []byte(cfg.SecretKey+"\n"), 0o600))
	body := "regions:\n  " + region + ":\n    backend: s3\n    endpoint: " + cfg.Endpoint +
		"\n    bucket: " + cfg.Bucket + "\n    prefix: " + cfg.Prefix + "\n    region: " + cfg.Region +
		"\n    access_key_file: " + ak + "\n    secret_key_file: " + sk + "\n    path_style: true\n"
	name := filepath.Join(dir, "storage.yaml")
	must(t, os.WriteFile(name, []byte(body), 0o600))
	return name
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
