package storagetest

import "strings"

// Hostile is a path a client might send to escape its namespace or to
// confuse people and tools. Inside is the clean path it must land on when
// it is accepted; "" means it must be refused (400 invalid_path).
type Hostile struct {
	Path, Inside string
}

// HostilePaths are the traversal suite's cases, shared by the unit test of
// CleanPath and the API tests of both backends.
var HostilePaths = []Hostile{
	// Dot-dot in every position.
	{Path: ".."}, {Path: "../"}, {Path: "../etc/passwd"}, {Path: "a/../../etc/passwd"},
	{Path: "a/.."}, {Path: "/../x"}, {Path: "a/b/../../../c"},
	{Path: strings.Repeat("../", 20) + "etc/shadow"}, {Path: "a/../b"},
	// Dot and empty components, doubled slashes (an absolute path after
	// the one leading slash allowed).
	{Path: "./a"}, {Path: "a/./b"}, {Path: "."}, {Path: "//etc/passwd"}, {Path: "a//b"}, {Path: "///"},
	// Backslashes: separators to Windows and SMB.
	{Path: `..\..\etc\passwd`}, {Path: `a\b`}, {Path: `\\server\share`}, {Path: `C:\Windows\win.ini`},
	// NUL and control characters.
	{Path: "a\x00b"}, {Path: "\x00"}, {Path: "a/\x00/b"}, {Path: "x/\x00"}, {Path: "a\nb"}, {Path: "a\rb"},
	{Path: "a\tb"}, {Path: "\x1b[31mred"}, {Path: "a\x7fb"}, {Path: "a\u0085b"}, {Path: "a/\x01"},
	// Bidi controls, zero-width and other invisible format characters.
	{Path: "\u202egnp.exe"}, {Path: "a\u200bb"}, {Path: "a\u200db"}, {Path: "\ufeffbom"}, {Path: "a\u2066b"},
	{Path: "a\u061cb"}, {Path: "a\u180eb"}, {Path: "soft\u00adhyphen"}, {Path: "a\u2060b"}, {Path: "tag\U000e0001"},
	{Path: "a/\u2028b"}, {Path: "a\u2029b"},
	// Lookalikes that normalise (NFKC) to dots or separators.
	{Path: "\uff0e\uff0e"}, {Path: "\uff0e\uff0e/etc"}, {Path: "a\uff0fb"}, {Path: "a\uff3cb"},
	{Path: "\u2024\u2024"}, {Path: "\u2025"}, {Path: "\ufe52\ufe52"}, {Path: "\uff0e"},
	// Invalid UTF-8, overlong encodings of "..", private use, noncharacters.
	{Path: "\xff\xfe"}, {Path: "\xc0\xae\xc0\xae/etc"}, {Path: "\xe0\x80\xae"}, {Path: "\ue000priv"},
	{Path: "\U0010fffd"}, {Path: "\ufdd0"}, {Path: "\ufffe"},
	// Over-long names and paths.
	{Path: strings.Repeat("a", 256)}, {Path: strings.Repeat("a/", 2049)}, {Path: strings.Repeat("é", 128)},
	// Names reserved for uploads in flight.
	{Path: ".gpuaas-upload-x"}, {Path: "a/.gpuaas-upload-123"},
	// Odd but harmless: accepted, and kept inside the namespace.
	{Path: "/etc/passwd", Inside: "etc/passwd"}, {Path: "...", Inside: "..."}, {Path: ".. ", Inside: ".. "},
	{Path: "a/ ../b", Inside: "a/ ../b"}, {Path: "%2e%2e/%2e%2e/etc", Inside: "%2e%2e/%2e%2e/etc"},
	{Path: "~/.ssh/authorized_keys", Inside: "~/.ssh/authorized_keys"}, {Path: "$HOME/x", Inside: "$HOME/x"},
	{Path: "proc/self/root/etc/passwd", Inside: "proc/self/root/etc/passwd"}, {Path: "CON", Inside: "CON"},
	{Path: "C:", Inside: "C:"}, {Path: "\u3002\u3002", Inside: "\u3002\u3002"}, {Path: "\u0130", Inside: "\u0130"},
	{Path: "a/b/", Inside: "a/b"}, {Path: strings.Repeat("a", 255), Inside: strings.Repeat("a", 255)},
	{Path: "..a", Inside: "..a"}, {Path: "a..", Inside: "a.."},
}
