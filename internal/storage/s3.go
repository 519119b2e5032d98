package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// MaxS3KeyBytes is S3's limit on an object key; a path whose key would be
// longer is 400 invalid_path on the s3 backend.
const MaxS3KeyBytes = 1024

// s3PartSize is the multipart part size of uploads: what one upload holds
// in memory.
const s3PartSize = 16 << 20

// S3Config is one region's bucket.
type S3Config struct {
	Endpoint             string // http(s)://host[:port]
	Bucket, Prefix       string
	Region               string
	AccessKey, SecretKey string
	PathStyle            bool
}

// S3 is the s3 backend: <prefix><namespace>/<path> in a bucket. A folder
// is a key prefix, made visible when empty by a zero-byte marker object
// named <folder>/. Keys are only ever built from clean paths under
// <prefix><namespace>/; nothing listed outside it is shown.
type S3 struct {
	c              *minio.Client
	bucket, prefix string
}

// NewS3 connects to the store (lazily: the first request dials).
func NewS3(cfg S3Config) (*S3, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("s3 endpoint %q: want http(s)://host[:port]", cfg.Endpoint)
	}
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       u.Scheme == "https",
		Region:       cfg.Region,
		BucketLookup: lookup,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 client: %w", err)
	}
	return &S3{c: c, bucket: cfg.Bucket, prefix: cfg.Prefix}, nil
}

// Client is the underlying client, for tests.
func (b *S3) Client() *minio.Client { return b.c }

// nsKey is the namespace's own prefix.
func (b *S3) nsKey(ns string) (string, error) {
	if !validNamespace(ns) {
		return "", fmt.Errorf("storage: bad namespace %q", ns)
	}
	return b.prefix + ns + "/", nil
}

// key is the object key of clean path p.
func (b *S3) key(ns, p string) (string, error) {
	base, err := b.nsKey(ns)
	if err != nil {
		return "", err
	}
	k := base + p
	if len(k)+1 > MaxS3KeyBytes {
		return "", invalidPath("the path is too long for this region's store (S3 keys hold %d bytes)", MaxS3KeyBytes)
	}
	if !strings.HasPrefix(k, base) || strings.Contains(p, "//") {
		return "", ErrEscape
	}
	return k, nil
}

// dirKey is the prefix of folder p ("" the namespace root).
func (b *S3) dirKey(ns, p string) (string, error) {
	if p == "" {
		return b.nsKey(ns)
	}
	k, err := b.key(ns, p)
	return k + "/", err
}

func notFound(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.StatusCode == http.StatusNotFound || r.Code == "NoSuchKey"
}

// statFile is the object at p; ErrNotFound when there is none.
func (b *S3) statFile(ctx context.Context, ns, p string) (minio.ObjectInfo, error) {
	k, err := b.key(ns, p)
	if err != nil {
		return minio.ObjectInfo{}, err
	}
	oi, err := b.c.StatObject(ctx, b.bucket, k, minio.StatObjectOptions{})
	if err != nil {
		if notFound(err) {
			return oi, ErrNotFound
		}
		return oi, fmt.Errorf("s3 stat: %w", err)
	}
	return oi, nil
}

// isDir reports whether anything lies under folder p.
func (b *S3) isDir(ctx context.Context, ns, p string) (bool, error) {
	dk, err := b.dirKey(ns, p)
	if err != nil {
		return false, err
	}
	for oi := range b.c.ListObjects(ctx, b.bucket, minio.ListObjectsOptions{Prefix: dk, MaxKeys: 1}) {
		if oi.Err != nil {
			return false, fmt.Errorf("s3 list: %w", oi.Err)
		}
		return true, nil
	}
	return false, nil
}

// checkParents refuses a path below a file.
func (b *S3) checkParents(ctx context.Context, ns, p string) error {
	for dir := parentPath(p); dir != ""; dir = parentPath(dir) {
		if _, err := b.statFile(ctx, ns, dir); err == nil {
			return ErrExist
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

// List implements Backend.
func (b *S3) List(ctx context.Context, ns, dir string) ([]Entry, error) {
	dk, err := b.dirKey(ns, dir)
	if err != nil {
		return nil, err
	}
	var out []Entry
	found := false
	for oi := range b.c.ListObjects(ctx, b.bucket, minio.ListObjectsOptions{Prefix: dk}) {
		if oi.Err != nil {
			return nil, fmt.Errorf("s3 list: %w", oi.Err)
		}
		found = true
		if oi.Key == dk || !strings.HasPrefix(oi.Key, dk) {
			continue
		}
		name := oi.Key[len(dk):]
		isDir := strings.HasSuffix(name, "/")
		name = strings.TrimSuffix(name, "/")
		if checkName(name) != nil {
			continue // written by something else, and not addressable here
		}
		e := Entry{Path: joinPath(dir, name), IsDir: isDir, ModTime: oi.LastModified.UTC()}
		if !isDir {
			e.Size = oi.Size
		}
		out = append(out, e)
	}
	if !found && dir != "" {
		if _, err := b.statFile(ctx, ns, dir); err == nil {
			return nil, ErrNotDir
		}
		return nil, ErrNotFound
	}
	return out, nil
}

// Stat implements Backend.
func (b *S3) Stat(ctx context.Context, ns, p string) (Entry, error) {
	if p == "" {
		return Entry{Path: "", IsDir: true}, nil
	}
	oi, err := b.statFile(ctx, ns, p)
	if err == nil {
		return Entry{Path: p, Size: oi.Size, ModTime: oi.LastModified.UTC()}, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return Entry{}, err
	}
	if ok, err := b.isDir(ctx, ns, p); err != nil || !ok {
		return Entry{}, cmpErr(err, ErrNotFound)
	}
	return Entry{Path: p, IsDir: true}, nil
}

func cmpErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

type s3Object struct {
	*minio.Object
	e    Entry
	etag string
}

func (o *s3Object) Entry() Entry { return o.e }
func (o *s3Object) ETag() string { return `"` + strings.Trim(o.etag, `"`) + `"` }

// Open implements Backend.
func (b *S3) Open(ctx context.Context, ns, p string) (Object, error) {
	oi, err := b.statFile(ctx, ns, p)
	if errors.Is(err, ErrNotFound) {
		if ok, derr := b.isDir(ctx, ns, p); derr == nil && ok {
			return nil, ErrIsDir
		}
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	k, _ := b.key(ns, p)
	opts := minio.GetObjectOptions{}
	_ = opts.SetMatchETag(oi.ETag)
	obj, err := b.c.GetObject(ctx, b.bucket, k, opts)
	if err != nil {
		return nil, fmt.Errorf("s3 get: %w", err)
	}
	return &s3Object{Object: obj, e: Entry{Path: p, Size: oi.Size, ModTime: oi.LastModified.UTC()}, etag: oi.ETag}, nil
}

// Put implements Backend: one PutObject (multipart, 16 MiB parts, when
// the body is larger), which completes atomically; a failed body aborts
// the multipart upload, so nothing appears.
func (b *S3) Put(ctx context.Context, ns, p string, r io.Reader) (Entry, int64, error) {
	k, err := b.key(ns, p)
	if err != nil {
		return Entry{}, 0, err
	}
	if ok, err := b.isDir(ctx, ns, p); err != nil {
		return Entry{}, 0, err
	} else if ok {
		return Entry{}, 0, ErrIsDir
	}
	if err := b.checkParents(ctx, ns, p); err != nil {
		return Entry{}, 0, err
	}
	var replaced int64
	if oi, err := b.statFile(ctx, ns, p); err == nil {
		replaced = oi.Size
	} else if !errors.Is(err, ErrNotFound) {
		return Entry{}, 0, err
	}
	// Not the request's context: a cut-off body must still abort the
	// multipart upload it started.
	info, err := b.c.PutObject(context.WithoutCancel(ctx), b.bucket, k, r, -1, minio.PutObjectOptions{
		PartSize: s3PartSize, ContentType: "application/octet-stream"})
	if err != nil {
		return Entry{}, 0, err
	}
	mod := info.LastModified
	if mod.IsZero() {
		if oi, err := b.statFile(ctx, ns, p); err == nil {
			mod = oi.LastModified
		}
	}
	return Entry{Path: p, Size: info.Size, ModTime: mod.UTC()}, replaced, nil
}

// Mkdir implements Backend.
func (b *S3) Mkdir(ctx context.Context, ns, p string) (Entry, error) {
	if p == "" {
		return Entry{Path: "", IsDir: true}, nil
	}
	if _, err := b.statFile(ctx, ns, p); err == nil {
		return Entry{}, ErrExist
	} else if !errors.Is(err, ErrNotFound) {
		return Entry{}, err
	}
	if err := b.checkParents(ctx, ns, p); err != nil {
		return Entry{}, err
	}
	dk, err := b.dirKey(ns, p)
	if err != nil {
		return Entry{}, err
	}
	info, err := b.c.PutObject(ctx, b.bucket, dk, strings.NewReader(""), 0, minio.PutObjectOptions{})
	if err != nil {
		return Entry{}, fmt.Errorf("s3 mkdir: %w", err)
	}
	return Entry{Path: p, IsDir: true, ModTime: info.LastModified.UTC()}, nil
}

// Rename implements Backend: a server-side copy of each object, then the
// delete of the originals. Not atomic for a folder: a failure half way
// leaves some objects at each place, none lost.
func (b *S3) Rename(ctx context.Context, ns, from, to string) (Entry, error) {
	src, err := b.Stat(ctx, ns, from)
	if err != nil {
		return Entry{}, err
	}
	if _, err := b.Stat(ctx, ns, to); err == nil {
		return Entry{}, ErrExist
	} else if !errors.Is(err, ErrNotFound) {
		return Entry{}, err
	}
	if err := b.checkParents(ctx, ns, to); err != nil {
		return Entry{}, err
	}
	if !src.IsDir {
		fk, _ := b.key(ns, from)
		tk, err := b.key(ns, to)
		if err != nil {
			return Entry{}, err
		}
		if err := b.move(ctx, fk, tk); err != nil {
			return Entry{}, err
		}
		src.Path = to
		return src, nil
	}
	fk, _ := b.dirKey(ns, from)
	tk, err := b.dirKey(ns, to)
	if err != nil {
		return Entry{}, err
	}
	for oi := range b.c.ListObjects(ctx, b.bucket, minio.ListObjectsOptions{Prefix: fk, Recursive: true}) {
		if oi.Err != nil {
			return Entry{}, fmt.Errorf("s3 list: %w", oi.Err)
		}
		if !strings.HasPrefix(oi.Key, fk) {
			continue
		}
		nk := tk + oi.Key[len(fk):]
		if len(nk) > MaxS3KeyBytes {
			return Entry{}, invalidPath("a path under %s would be too long for this region's store", to)
		}
		if err := b.move(ctx, oi.Key, nk); err != nil {
			return Entry{}, err
		}
	}
	return Entry{Path: to, IsDir: true}, nil
}

func (b *S3) move(ctx context.Context, from, to string) error {
	_, err := b.c.ComposeObject(ctx, minio.CopyDestOptions{Bucket: b.bucket, Object: to},
		minio.CopySrcOptions{Bucket: b.bucket, Object: from})
	if err != nil {
		return fmt.Errorf("s3 copy: %w", err)
	}
	if err := b.c.RemoveObject(ctx, b.bucket, from, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("s3 remove: %w", err)
	}
	return nil
}

// Delete implements Backend.
func (b *S3) Delete(ctx context.Context, ns, p string, recursive bool) (int64, error) {
	if oi, err := b.statFile(ctx, ns, p); err == nil {
		k, _ := b.key(ns, p)
		if err := b.c.RemoveObject(ctx, b.bucket, k, minio.RemoveObjectOptions{}); err != nil {
			return 0, fmt.Errorf("s3 remove: %w", err)
		}
		return oi.Size, nil
	} else if !errors.Is(err, ErrNotFound) {
		return 0, err
	}
	dk, err := b.dirKey(ns, p)
	if err != nil {
		return 0, err
	}
	var keys []string
	var freed int64
	for oi := range b.c.ListObjects(ctx, b.bucket, minio.ListObjectsOptions{Prefix: dk, Recursive: true}) {
		if oi.Err != nil {
			return 0, fmt.Errorf("s3 list: %w", oi.Err)
		}
		if !strings.HasPrefix(oi.Key, dk) {
			continue
		}
		if oi.Key != dk && !recursive {
			return 0, ErrNotEmpty
		}
		keys = append(keys, oi.Key)
		freed += oi.Size
	}
	if len(keys) == 0 {
		return 0, ErrNotFound
	}
	ch := make(chan minio.ObjectInfo, len(keys))
	for _, k := range keys {
		ch <- minio.ObjectInfo{Key: k}
	}
	close(ch)
	for re := range b.c.RemoveObjects(ctx, b.bucket, ch, minio.RemoveObjectsOptions{}) {
		if re.Err != nil {
			return 0, fmt.Errorf("s3 remove %s: %w", re.ObjectName, re.Err)
		}
	}
	return freed, nil
}

// Usage implements Backend.
func (b *S3) Usage(ctx context.Context, ns string) (int64, error) {
	nk, err := b.nsKey(ns)
	if err != nil {
		return 0, err
	}
	var total int64
	for oi := range b.c.ListObjects(ctx, b.bucket, minio.ListObjectsOptions{Prefix: nk, Recursive: true}) {
		if oi.Err != nil {
			return 0, fmt.Errorf("s3 list: %w", oi.Err)
		}
		total += oi.Size
	}
	return total, nil
}
