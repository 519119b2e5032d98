package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"syscall"
)

// FS is the fs backend: <dir>/<namespace>/<path> on a filesystem the
// control plane and the region's nodes mount at the same place.
//
// Every operation goes through an os.Root opened at the namespace's
// directory: the kernel resolves each component (openat with
// RESOLVE_BENEATH semantics done by Go), so a symlink that points outside
// the namespace, even one a workload planted after the path was checked,
// is refused rather than followed.
type FS struct {
	dir string
}

// NewFS returns the backend rooted at dir, which must exist.
func NewFS(dir string) (*FS, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	return &FS{dir: dir}, nil
}

// Dir is the directory the namespaces live in.
func (b *FS) Dir() string { return b.dir }

// root opens the namespace's directory, creating it (0700) on first use.
func (b *FS) root(ns string) (*os.Root, error) {
	if !validNamespace(ns) {
		return nil, fmt.Errorf("storage: bad namespace %q", ns)
	}
	top, err := os.OpenRoot(b.dir)
	if err != nil {
		return nil, fmt.Errorf("open storage root: %w", err)
	}
	defer top.Close()
	r, err := top.OpenRoot(ns)
	if errors.Is(err, fs.ErrNotExist) {
		if err := top.Mkdir(ns, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("create namespace: %w", err)
		}
		r, err = top.OpenRoot(ns)
	}
	if err != nil {
		return nil, fmt.Errorf("open namespace: %w", err)
	}
	return r, nil
}

// rel is p as os.Root names it: "." for the namespace root.
func rel(p string) string {
	if p == "" {
		return "."
	}
	return p
}

// mapFSError turns what os.Root says into the backend's errors.
func mapFSError(err error) error {
	switch {
	case err == nil:
		return nil
	case strings.Contains(err.Error(), "path escapes from parent"), errors.Is(err, syscall.ELOOP), errors.Is(err, syscall.EXDEV):
		return fmt.Errorf("%w: %v", ErrEscape, err)
	case errors.Is(err, syscall.ENOTEMPTY):
		return ErrNotEmpty
	case errors.Is(err, syscall.ENOTDIR):
		return ErrNotDir
	case errors.Is(err, syscall.EISDIR):
		return ErrIsDir
	case errors.Is(err, fs.ErrNotExist):
		return ErrNotFound
	case errors.Is(err, fs.ErrExist):
		return ErrExist
	}
	return err
}

func entryOf(p string, fi fs.FileInfo) Entry {
	e := Entry{Path: p, IsDir: fi.IsDir(), ModTime: fi.ModTime().UTC()}
	if !e.IsDir {
		e.Size = fi.Size()
	}
	return e
}

// List implements Backend. Symlinks are shown as what they point to when
// that is inside the namespace, and left out when it is not.
func (b *FS) List(_ context.Context, ns, dir string) ([]Entry, error) {
	r, err := b.root(ns)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	fi, err := r.Stat(rel(dir))
	if err != nil {
		return nil, mapFSError(err)
	}
	if !fi.IsDir() {
		return nil, ErrNotDir
	}
	f, err := r.Open(rel(dir))
	if err != nil {
		return nil, mapFSError(err)
	}
	defer f.Close()
	des, err := f.ReadDir(-1)
	if err != nil {
		return nil, mapFSError(err)
	}
	out := make([]Entry, 0, len(des))
	for _, de := range des {
		if strings.HasPrefix(de.Name(), tempPrefix) {
			continue
		}
		p := joinPath(dir, de.Name())
		var info fs.FileInfo
		if de.Type()&fs.ModeSymlink != 0 {
			info, err = r.Stat(p)
		} else {
			info, err = de.Info()
		}
		if err != nil {
			continue // gone since, or a symlink leading out
		}
		if !info.IsDir() && !info.Mode().IsRegular() {
			continue // sockets, fifos, devices: not files to hand out
		}
		out = append(out, entryOf(p, info))
	}
	return out, nil
}

// Stat implements Backend.
func (b *FS) Stat(_ context.Context, ns, p string) (Entry, error) {
	r, err := b.root(ns)
	if err != nil {
		return Entry{}, err
	}
	defer r.Close()
	fi, err := r.Stat(rel(p))
	if err != nil {
		return Entry{}, mapFSError(err)
	}
	return entryOf(p, fi), nil
}

type fsObject struct {
	*os.File
	e Entry
}

func (o *fsObject) Entry() Entry { return o.e }

func (o *fsObject) ETag() string {
	return fmt.Sprintf(`"%x-%x"`, o.e.Size, o.e.ModTime.UnixNano())
}

// Open implements Backend.
func (b *FS) Open(_ context.Context, ns, p string) (Object, error) {
	r, err := b.root(ns)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	f, err := r.Open(rel(p))
	if err != nil {
		return nil, mapFSError(err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if fi.IsDir() {
		f.Close()
		return nil, ErrIsDir
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, ErrNotFound
	}
	return &fsObject{File: f, e: entryOf(p, fi)}, nil
}

// writerOnly and readerOnly hide ReadFrom and WriteTo so that io.CopyBuffer
// uses the buffer it is given (os.File's ReadFrom falls back to a copy of
// its own).
type writerOnly struct{ io.Writer }
type readerOnly struct{ io.Reader }

// copyBufferSize is what an upload holds in memory at once.
const copyBufferSize = 1 << 20

// Put implements Backend: a temporary file in the target's folder,
// fsync'd, renamed over the target, and the folder fsync'd.
func (b *FS) Put(_ context.Context, ns, p string, src io.Reader) (Entry, int64, error) {
	r, err := b.root(ns)
	if err != nil {
		return Entry{}, 0, err
	}
	defer r.Close()
	dir := parentPath(p)
	if dir != "" {
		if err := r.MkdirAll(dir, 0o755); err != nil {
			if err = mapFSError(err); errors.Is(err, ErrNotDir) {
				err = ErrExist // a file where a parent folder should be
			}
			return Entry{}, 0, err
		}
	}
	var replaced int64
	if fi, err := r.Lstat(p); err == nil {
		if fi.IsDir() {
			return Entry{}, 0, ErrIsDir
		}
		if fi.Mode().IsRegular() {
			replaced = fi.Size()
		}
	} else if err = mapFSError(err); !errors.Is(err, ErrNotFound) {
		return Entry{}, 0, err
	}
	var rnd [12]byte
	_, _ = rand.Read(rnd[:])
	tmp := joinPath(dir, tempPrefix+hex.EncodeToString(rnd[:]))
	f, err := r.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return Entry{}, 0, mapFSError(err)
	}
	done := false
	defer func() {
		if !done {
			f.Close()
			_ = r.Remove(tmp)
		}
	}()
	buf := make([]byte, copyBufferSize)
	if _, err := io.CopyBuffer(writerOnly{f}, readerOnly{src}, buf); err != nil {
		return Entry{}, 0, err
	}
	if err := f.Sync(); err != nil {
		return Entry{}, 0, fmt.Errorf("sync upload: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		return Entry{}, 0, err
	}
	if err := f.Close(); err != nil {
		return Entry{}, 0, fmt.Errorf("close upload: %w", err)
	}
	if err := r.Rename(tmp, p); err != nil {
		_ = r.Remove(tmp)
		done = true
		return Entry{}, 0, mapFSError(err)
	}
	done = true
	if d, err := r.Open(rel(dir)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return entryOf(p, fi), replaced, nil
}

// Mkdir implements Backend.
func (b *FS) Mkdir(_ context.Context, ns, p string) (Entry, error) {
	r, err := b.root(ns)
	if err != nil {
		return Entry{}, err
	}
	defer r.Close()
	if err := r.MkdirAll(rel(p), 0o755); err != nil {
		if err = mapFSError(err); errors.Is(err, ErrNotDir) {
			err = ErrExist
		}
		return Entry{}, err
	}
	fi, err := r.Stat(rel(p))
	if err != nil {
		return Entry{}, mapFSError(err)
	}
	if !fi.IsDir() {
		return Entry{}, ErrExist
	}
	return entryOf(p, fi), nil
}

// Rename implements Backend. The check that to is free and the rename are
// two steps: a workload creating to in between is overwritten if it is a
// file (rename(2) has no no-replace flag through os.Root).
func (b *FS) Rename(_ context.Context, ns, from, to string) (Entry, error) {
	r, err := b.root(ns)
	if err != nil {
		return Entry{}, err
	}
	defer r.Close()
	if _, err := r.Lstat(from); err != nil {
		return Entry{}, mapFSError(err)
	}
	if _, err := r.Lstat(to); err == nil {
		return Entry{}, ErrExist
	} else if err = mapFSError(err); !errors.Is(err, ErrNotFound) {
		return Entry{}, err
	}
	if dir := parentPath(to); dir != "" {
		if err := r.MkdirAll(dir, 0o755); err != nil {
			if err = mapFSError(err); errors.Is(err, ErrNotDir) {
				err = ErrExist
			}
			return Entry{}, err
		}
	}
	if err := r.Rename(from, to); err != nil {
		return Entry{}, mapFSError(err)
	}
	fi, err := r.Lstat(to)
	if err != nil {
		return Entry{}, mapFSError(err)
	}
	return entryOf(to, fi), nil
}

// Delete implements Backend. A symlink is removed, never what it points to.
func (b *FS) Delete(_ context.Context, ns, p string, recursive bool) (int64, error) {
	r, err := b.root(ns)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	fi, err := r.Lstat(p)
	if err != nil {
		return 0, mapFSError(err)
	}
	if !fi.IsDir() {
		var freed int64
		if fi.Mode().IsRegular() {
			freed = fi.Size()
		}
		return freed, mapFSError(r.Remove(p))
	}
	if !recursive {
		return 0, mapFSError(r.Remove(p))
	}
	freed, err := sizeOf(r, p)
	if err != nil {
		return 0, err
	}
	return freed, mapFSError(r.RemoveAll(p))
}

// Usage implements Backend: the regular files under the namespace, by
// lstat (a symlink counts as nothing, its target once where it lies).
func (b *FS) Usage(_ context.Context, ns string) (int64, error) {
	r, err := b.root(ns)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	return sizeOf(r, ".")
}

func sizeOf(r *os.Root, p string) (int64, error) {
	var total int64
	err := fs.WalkDir(r.FS(), p, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while we walked
			}
			return err
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				total += fi.Size()
			}
		}
		return nil
	})
	return total, mapFSError(err)
}
