package process

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WorkspaceLink is the name, in the user's home, of the link to the
// owner's storage namespace.
const WorkspaceLink = "workspace"

// linkWorkspace gives the workspace's files to e's user and makes
// HOME/workspace a link to it. The link is made by root through the home
// opened as a root, so nothing the user put in HOME leads it elsewhere;
// a link already there is replaced (a repeat of Provision), and anything
// else the user made under that name is left alone and refused.
//
// The chown walks the whole namespace: a cost in proportion to its number
// of files, paid at every provision, because each allocation's user is a
// fresh uid and the files the last one wrote carry another.
func linkWorkspace(e passwdEntry, dir string) error {
	if err := chownTree(dir, e.uid, e.gid); err != nil {
		return fmt.Errorf("give the workspace to %s: %w", e.name, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("workspace mode: %w", err)
	}
	home, err := os.OpenRoot(e.home)
	if err != nil {
		return fmt.Errorf("open home: %w", err)
	}
	defer home.Close()
	if info, err := home.Lstat(WorkspaceLink); err == nil {
		if info.Mode()&fs.ModeSymlink == 0 {
			return fmt.Errorf("%s/%s exists and is not the workspace link", e.home, WorkspaceLink)
		}
		if target, err := home.Readlink(WorkspaceLink); err == nil && target == dir {
			return nil
		}
		if err := home.Remove(WorkspaceLink); err != nil {
			return fmt.Errorf("replace the workspace link: %w", err)
		}
	}
	if err := home.Symlink(dir, WorkspaceLink); err != nil {
		return fmt.Errorf("link the workspace: %w", err)
	}
	return nil
}

// unlinkWorkspace removes HOME/workspace when it is a link (never what it
// points at); anything else there is the user's and goes with HOME.
func unlinkWorkspace(home string) error {
	p := filepath.Join(home, WorkspaceLink)
	info, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("inspect the workspace link: %w", err)
	}
	if info.Mode()&fs.ModeSymlink == 0 {
		return nil
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove the workspace link: %w", err)
	}
	return nil
}

// chownTree gives dir and everything under it to uid:gid without following
// any link (a link itself changes owner, not its target).
func chownTree(dir string, uid, gid int) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p != dir {
				return nil // deleted meanwhile
			}
			return err
		}
		if err := os.Lchown(p, uid, gid); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
}
