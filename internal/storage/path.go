package storage

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/gpuaas/gpuaas/internal/apperr"
)

// Limits on paths, as the contract states them.
const (
	MaxPathBytes = 4096
	MaxNameBytes = 255
)

// CodeInvalidPath is the 400 code of a path that is malformed or would
// leave the namespace.
const CodeInvalidPath = "invalid_path"

// tempPrefix names the files an upload writes before it renames them into
// place; users may not name files so, and listings hide them.
const tempPrefix = ".gpuaas-upload-"

func invalidPath(format string, args ...any) *apperr.Error {
	return apperr.InvalidCode(CodeInvalidPath, format, args...)
}

// CleanPath checks p, a '/'-separated path relative to the namespace root
// (one leading '/' allowed, one trailing '/' allowed), and returns it
// without either; "" is the root. It refuses rather than repairs:
//
//   - NUL, control characters (C0, DEL, C1), Unicode format characters
//     (bidi overrides and isolates, zero-width joiners and spaces, BOM),
//     unassigned code points, noncharacters and invalid UTF-8;
//   - empty, "." and ".." components, and any component whose NFKC form
//     is "." or ".." or holds '/' or '\' (fullwidth dots and slashes);
//   - backslashes (a separator to Windows and SMB clients);
//   - names over 255 bytes, paths over 4096 bytes;
//   - names starting with .gpuaas-upload- (uploads in flight).
//
// Windows' reserved names (CON, NUL…) are allowed: the backends are POSIX
// filesystems and S3, where they are ordinary names.
func CleanPath(p string) (string, error) {
	if len(p) > MaxPathBytes {
		return "", invalidPath("path is longer than %d bytes", MaxPathBytes)
	}
	if !utf8.ValidString(p) {
		return "", invalidPath("path is not valid UTF-8")
	}
	p = strings.TrimPrefix(p, "/")
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		return "", nil
	}
	for _, name := range strings.Split(p, "/") {
		if err := checkName(name); err != nil {
			return "", err
		}
	}
	return p, nil
}

func checkName(name string) error {
	switch name {
	case "":
		return invalidPath("path has an empty name (//)")
	case ".", "..":
		return invalidPath("path may not contain %q", name)
	}
	if len(name) > MaxNameBytes {
		return invalidPath("a name is longer than %d bytes", MaxNameBytes)
	}
	for _, r := range name {
		if bad := badRune(r); bad != "" {
			return invalidPath("path contains %s (U+%04X)", bad, r)
		}
	}
	if n := norm.NFKC.String(name); n == "." || n == ".." || strings.ContainsAny(n, `/\`) {
		return invalidPath("a name reads as %q once normalised", n)
	}
	if strings.HasPrefix(name, tempPrefix) {
		return invalidPath("names starting with %s are reserved", tempPrefix)
	}
	return nil
}

func badRune(r rune) string {
	switch {
	case r == 0:
		return "a NUL byte"
	case r == '\\':
		return "a backslash"
	case r == utf8.RuneError:
		return "an invalid character"
	case unicode.IsControl(r):
		return "a control character"
	case unicode.Is(unicode.Cf, r):
		return "an invisible formatting character"
	case unicode.Is(unicode.Co, r):
		return "a private-use character"
	case unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r):
		return "a line separator"
	case r >= 0xFDD0 && r <= 0xFDEF, r&0xFFFE == 0xFFFE:
		return "a noncharacter"
	case !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Zs):
		return "an unassigned character"
	}
	return ""
}

// joinPath joins a clean directory and a name.
func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// baseName is the last name of a clean path.
func baseName(p string) string {
	return p[strings.LastIndexByte(p, '/')+1:]
}

// parentPath is the directory of a clean path ("" for the root's children).
func parentPath(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return ""
	}
	return p[:i]
}

// within reports whether clean path p is dir or lies under it.
func within(p, dir string) bool {
	return dir == "" || p == dir || strings.HasPrefix(p, dir+"/")
}
