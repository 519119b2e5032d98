package process

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// shQuote quotes s for POSIX sh.
func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// profile is the env file for login: sh syntax, since /etc/profile is read
// by dash as well as bash. The guard keeps every other user's login shell,
// which reads the same directory, from picking it up.
func profile(w Workload, login string) []byte {
	cuda, nvidia := gpuList(w)
	return fmt.Appendf(nil, `# Managed by gpuaas for allocation %s: the GPUs reserved for %s.
# Removed when the allocation is released; do not edit.
if [ "$(id -un 2>/dev/null)" = %s ]; then
	export CUDA_VISIBLE_DEVICES=%s
	export NVIDIA_VISIBLE_DEVICES=%s
fi
`, w.AllocationID, login, shQuote(login), shQuote(cuda), shQuote(nvidia))
}

func (r *Runtime) writeProfile(w Workload, login string) error {
	dir := r.profileDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write env file: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("write env file: %w", err)
	}
	defer root.Close()
	if err := writeAt(root, filepath.Base(r.ProfilePath(login)), profile(w, login), 0o644, 0, 0); err != nil {
		return fmt.Errorf("write env file: %w", err)
	}
	return nil
}

// bashrc is the user's ~/.bashrc: a line that reads the env file, above the
// stock file's "not interactive: return" guard, because bash run by sshd
// for `ssh host CMD` reads ~/.bashrc and nothing else.
func bashrc(profilePath string, skel []byte) []byte {
	p := shQuote(profilePath)
	b := fmt.Appendf(nil, `# Managed by gpuaas and rewritten on every provision: edits here are lost.
# Put your own settings in ~/.bashrc.local (read by interactive shells).
#
# The reserved GPUs come first, above the interactive guard, because bash
# reads this file for non-interactive `+"`ssh host CMD`"+` sessions too.
if [ -r %s ]; then . %s; fi

`, p, p)
	b = append(b, skel...)
	if len(skel) > 0 && skel[len(skel)-1] != '\n' {
		b = append(b, '\n')
	}
	return append(b, "\nif [ -r ~/.bashrc.local ]; then . ~/.bashrc.local; fi\n"...)
}

// writeHome writes the files Provision keeps in the user's home. The user
// owns the home and may have planted symlinks there, so every path is
// resolved inside an os.Root (nothing escapes the home), directories are
// changed through their own descriptors, and files are replaced by rename,
// never written through.
func writeHome(e passwdEntry, bashrcData, keys []byte) error {
	if !filepath.IsAbs(e.home) {
		return fmt.Errorf("home %q is not absolute", e.home)
	}
	if err := os.Mkdir(e.home, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create home: %w", err)
	}
	home, err := os.OpenRoot(e.home)
	if err != nil {
		return fmt.Errorf("open home: %w", err)
	}
	defer home.Close()
	if err := ownDir(home, e.uid, e.gid); err != nil {
		return fmt.Errorf("home %s: %w", e.home, err)
	}
	// Root-owned, so the user cannot edit the line that reads the env
	// file by accident; the user can still replace it (it is their home).
	if err := writeAt(home, ".bashrc", bashrcData, 0o644, 0, 0); err != nil {
		return fmt.Errorf("write .bashrc: %w", err)
	}
	return writeKeys(home, e, keys)
}

// writeKeys replaces ~/.ssh/authorized_keys under home (the user's home,
// opened as a root so no link leads out of it) with keys.
func writeKeys(home *os.Root, e passwdEntry, keys []byte) error {
	if info, err := home.Lstat(".ssh"); err == nil && !info.IsDir() {
		if err := home.Remove(".ssh"); err != nil {
			return fmt.Errorf("replace .ssh: %w", err)
		}
	}
	if err := home.Mkdir(".ssh", 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create .ssh: %w", err)
	}
	sshDir, err := home.OpenRoot(".ssh")
	if err != nil {
		return fmt.Errorf("open .ssh: %w", err)
	}
	defer sshDir.Close()
	if err := ownDir(sshDir, e.uid, e.gid); err != nil {
		return fmt.Errorf(".ssh: %w", err)
	}
	if err := writeAt(sshDir, "authorized_keys", keys, 0o600, e.uid, e.gid); err != nil {
		return fmt.Errorf("write authorized_keys: %w", err)
	}
	return nil
}

// ownDir gives dir to uid:gid with mode 0700 (sshd's StrictModes refuses
// keys under a group- or world-writable home or .ssh).
func ownDir(dir *os.Root, uid, gid int) error {
	f, err := dir.Open(".")
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Chown(uid, gid); err != nil {
		return err
	}
	return f.Chmod(0o700)
}

// writeAt replaces name in dir with data, owned by uid:gid with mode perm.
func writeAt(dir *os.Root, name string, data []byte, perm os.FileMode, uid, gid int) (err error) {
	tmp := "." + name + ".gpuaas-" + strconv.FormatUint(rand.Uint64(), 36)
	f, err := dir.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = dir.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chown(uid, gid); err != nil {
		return err
	}
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return dir.Rename(tmp, name)
}

func fileUID(info os.FileInfo) int {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

func dirExists(path string) bool {
	info, err := os.Lstat(path)
	return err == nil && info.IsDir()
}

// removeScratch deletes the entries directly inside the scratch directories
// that uid owns. Only the top level: those directories are root-owned and
// sticky, so no one can swap a path component under us, which is not true
// of deeper entries in another user's directory.
func (r *Runtime) removeScratch(uid int) error {
	var errs []error
	for _, dir := range r.scratchDirs() {
		entries, err := os.ReadDir(dir)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, ent := range entries {
			p := filepath.Join(dir, ent.Name())
			info, err := os.Lstat(p)
			if err != nil || fileUID(info) != uid {
				continue
			}
			if err := os.RemoveAll(p); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove the user's scratch files: %w", err)
	}
	return nil
}
