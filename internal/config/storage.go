package config

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// DefaultStorageQuotaBytes is a storage namespace's quota without an
// admin's override: 100 GiB.
const DefaultStorageQuotaBytes = 100 << 30

// StorageFile is --storage-config: a backend per region.
//
//	regions:
//	  eu-1: {backend: fs, path: /mnt/gpuaas-storage}
//	  us-1:
//	    backend: s3
//	    endpoint: https://s3.example.com
//	    bucket: gpuaas
//	    prefix: storage/
//	    region: us-east-1
//	    access_key_file: /etc/gpuaas/s3-access-key
//	    secret_key_file: /etc/gpuaas/s3-secret-key
//	    path_style: true
//	    price_per_gib_month_minor: 2
type StorageFile struct {
	Regions map[string]StorageRegion `yaml:"regions"`
}

// StorageRegion is one region's backend.
type StorageRegion struct {
	Backend string `yaml:"backend"` // fs or s3
	// Path is the fs backend's directory.
	Path string `yaml:"path"`
	// Endpoint, Bucket, Prefix, Region, the key files and PathStyle
	// configure the s3 backend. Endpoint is a URL (http:// or https://).
	Endpoint      string `yaml:"endpoint"`
	Bucket        string `yaml:"bucket"`
	Prefix        string `yaml:"prefix"`
	Region        string `yaml:"region"`
	AccessKeyFile string `yaml:"access_key_file"`
	SecretKeyFile string `yaml:"secret_key_file"`
	PathStyle     bool   `yaml:"path_style"`
	// PricePerGiBMonthMinor, when set, prices storage in this region (in
	// the platform currency's minor units per GiB-month).
	PricePerGiBMonthMinor *int64 `yaml:"price_per_gib_month_minor"`
}

var (
	regionSlugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	bucketRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
)

// LoadStorageFile reads and checks --storage-config.
func LoadStorageFile(name string) (StorageFile, error) {
	var f StorageFile
	b, err := os.ReadFile(name)
	if err != nil {
		return f, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return f, fmt.Errorf("parse %s: %w", name, err)
	}
	if len(f.Regions) == 0 {
		return f, errors.New("names no region (want regions: {<slug>: {backend: fs|s3, ...}})")
	}
	slugs := make([]string, 0, len(f.Regions))
	for slug := range f.Regions {
		slugs = append(slugs, slug)
	}
	sort.Strings(slugs)
	var errs []error
	for _, slug := range slugs {
		r := f.Regions[slug]
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("region %s: %s", slug, fmt.Sprintf(format, args...)))
		}
		if !regionSlugRE.MatchString(slug) {
			bad("not a region slug (a-z 0-9 -)")
		}
		if r.PricePerGiBMonthMinor != nil && *r.PricePerGiBMonthMinor < 0 {
			bad("price_per_gib_month_minor must not be negative")
		}
		switch r.Backend {
		case "fs":
			if !filepath.IsAbs(r.Path) {
				bad("fs backend wants an absolute path, got %q", r.Path)
			}
			if r.Endpoint != "" || r.Bucket != "" {
				bad("fs backend takes only path")
			}
		case "s3":
			u, err := url.Parse(r.Endpoint)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
				bad("s3 endpoint wants http(s)://host[:port], got %q", r.Endpoint)
			}
			if !bucketRE.MatchString(r.Bucket) {
				bad("s3 bucket %q is not a bucket name", r.Bucket)
			}
			if r.Prefix != "" && (strings.HasPrefix(r.Prefix, "/") || !strings.HasSuffix(r.Prefix, "/") || strings.Contains(r.Prefix, "..") || strings.Contains(r.Prefix, "//")) {
				bad("s3 prefix wants a/b/ (no leading slash, a trailing one), got %q", r.Prefix)
			}
			if r.AccessKeyFile == "" || r.SecretKeyFile == "" {
				bad("s3 backend wants access_key_file and secret_key_file")
			}
			if r.Path != "" {
				bad("s3 backend takes no path")
			}
		default:
			bad("backend wants fs or s3, got %q", r.Backend)
		}
	}
	return f, errors.Join(errs...)
}

// validateStorage checks the storage settings and loads the file.
func (c *Server) validateStorage(add func(error)) {
	if c.StorageFSRoot != "" && !filepath.IsAbs(c.StorageFSRoot) {
		abs, err := filepath.Abs(c.StorageFSRoot)
		if err != nil {
			add(Invalid("storage-fs-root", "%v", err))
		}
		c.StorageFSRoot = abs
	}
	if c.StorageConfig != "" {
		f, err := LoadStorageFile(c.StorageConfig)
		if err != nil {
			add(Invalid("storage-config", "%v", err))
		}
		c.Storage = f
	}
	if c.StorageQuotaBytes < 0 {
		add(Invalid("storage-quota-bytes", "must not be negative, got %d", c.StorageQuotaBytes))
	}
}
