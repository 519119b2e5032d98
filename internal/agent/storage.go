package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	"github.com/gpuaas/gpuaas/internal/agentproto"
)

// Storage is where this node mounts its region's shared filesystem (the
// agent's --storage-path): the same layout as the server's fs backend, one
// directory per namespace. The zero value is a node without one.
type Storage struct {
	// Path is the mounted root; empty: this node has no shared filesystem.
	Path string
}

var namespaceRE = regexp.MustCompile(agentproto.NamespacePattern)

// ErrNoStorage is Dir on a node without --storage-path.
var ErrNoStorage = errors.New("this node has no shared filesystem (the agent's --storage-path)")

// NoStorageNote is the note a provision that asked for a workspace carries
// when this node has none to mount.
const NoStorageNote = "Storage: this node has no shared filesystem (the agent runs without --storage-path), so /workspace is not mounted; " +
	"use `gpuaas storage cp` to move files between the node and your storage"

// Dir is the directory of namespace ns under Path, made (mode 0700, owned
// by the agent's user) when missing. ns must match
// agentproto.NamespacePattern before it is joined to any path, and the
// result must be a real directory directly under Path: a symlink, or
// anything that resolves outside Path, is refused.
func (s Storage) Dir(ns string) (string, error) {
	if s.Path == "" {
		return "", ErrNoStorage
	}
	if !namespaceRE.MatchString(ns) {
		return "", fmt.Errorf("storage namespace %q is not a namespace", ns)
	}
	// The root may itself be reached through a link (a mount point under
	// /mnt linked elsewhere); what matters is that nothing below it is.
	root, err := filepath.EvalSymlinks(s.Path)
	if err != nil {
		return "", fmt.Errorf("storage path %s: %w", s.Path, err)
	}
	if !filepath.IsAbs(root) {
		return "", fmt.Errorf("storage path %s is not absolute", s.Path)
	}
	if fi, err := os.Stat(root); err != nil {
		return "", fmt.Errorf("storage path %s: %w", s.Path, err)
	} else if !fi.IsDir() {
		return "", fmt.Errorf("storage path %s is not a directory", s.Path)
	}
	dir := filepath.Join(root, ns)
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("create storage namespace %s: %w", ns, err)
	}
	fi, err := os.Lstat(dir)
	switch {
	case err != nil:
		return "", fmt.Errorf("storage namespace %s: %w", ns, err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return "", fmt.Errorf("storage namespace %s is a symbolic link; refused", dir)
	case !fi.IsDir():
		return "", fmt.Errorf("storage namespace %s is not a directory", dir)
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", fmt.Errorf("storage namespace %s: %w", ns, err)
	}
	if real != dir || filepath.Dir(real) != root {
		return "", fmt.Errorf("storage namespace %s resolves to %s, outside %s; refused", ns, real, root)
	}
	return dir, nil
}

// workspace is the directory a task's provision or release mounts: empty
// when the task names no namespace, or this node has no shared filesystem
// (the provision goes on without it; its result says so, see
// ProvisionNotes).
func (s Storage) workspace(t agentproto.Task) (string, error) {
	if t.StorageNamespace == "" || s.Path == "" {
		return "", nil
	}
	return s.Dir(t.StorageNamespace)
}

// ProvisionNotes are the notes of a provision of t that succeeded on a
// node with storage s.
func (s Storage) ProvisionNotes(t agentproto.Task) []string {
	if t.Kind == agentproto.TaskProvision && t.StorageNamespace != "" && s.Path == "" {
		return []string{NoStorageNote}
	}
	return nil
}
