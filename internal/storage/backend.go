package storage

import (
	"context"
	"errors"
	"io"
	"time"
)

// Entry is one file or folder of a namespace.
type Entry struct {
	// Path is clean, from the namespace root.
	Path    string
	Size    int64
	IsDir   bool
	ModTime time.Time
}

// Name is the entry's last path element.
func (e Entry) Name() string { return baseName(e.Path) }

// Object is a file opened for reading. Range requests seek it.
type Object interface {
	io.ReadSeekCloser
	Entry() Entry
	// ETag identifies this version of the file, quoted.
	ETag() string
}

// Backend is one region's store. Every path it is given has passed
// CleanPath; ns is a namespace name (u-…). A backend must keep every read
// and write inside ns however the path or the store's contents (symlinks)
// are shaped.
type Backend interface {
	// List is the folder's entries, unordered; ErrNotFound when dir is
	// missing, ErrNotDir when it is a file.
	List(ctx context.Context, ns, dir string) ([]Entry, error)
	Stat(ctx context.Context, ns, p string) (Entry, error)
	Open(ctx context.Context, ns, p string) (Object, error)
	// Put writes r to p atomically, creating missing parents; it returns
	// the new entry and the size of the file it replaced (0 if none).
	// When r fails, nothing is left at p but what was there before.
	Put(ctx context.Context, ns, p string, r io.Reader) (e Entry, replaced int64, err error)
	Mkdir(ctx context.Context, ns, p string) (Entry, error)
	// Rename moves from to to; ErrExist when to exists.
	Rename(ctx context.Context, ns, from, to string) (Entry, error)
	// Delete removes p (its contents too when recursive) and returns the
	// bytes freed; ErrNotEmpty for a folder with contents.
	Delete(ctx context.Context, ns, p string, recursive bool) (int64, error)
	// Usage is the namespace's size in bytes, summed now.
	Usage(ctx context.Context, ns string) (int64, error)
}

// Backend errors; the Service maps them to apperr.
var (
	ErrNotFound = errors.New("storage: not found")
	ErrExist    = errors.New("storage: exists")
	ErrNotDir   = errors.New("storage: not a folder")
	ErrIsDir    = errors.New("storage: is a folder")
	ErrNotEmpty = errors.New("storage: folder not empty")
	// ErrEscape: the path resolved outside the namespace (a symlink).
	ErrEscape = errors.New("storage: path leaves the namespace")
)
