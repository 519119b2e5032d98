package storage_test

import (
	"testing"

	"github.com/gpuaas/gpuaas/internal/apperr"
	"github.com/gpuaas/gpuaas/internal/storage"
	"github.com/gpuaas/gpuaas/internal/storage/storagetest"
)

func TestCleanPathRefusesEveryEscape(t *testing.T) {
	if n := len(storagetest.HostilePaths); n < 60 {
		t.Fatalf("the traversal suite has %d cases, want at least 60", n)
	}
	for _, c := range storagetest.HostilePaths {
		got, err := storage.CleanPath(c.Path)
		if c.Inside == "" {
			if !apperr.HasCode(err, storage.CodeInvalidPath) {
				t.Errorf("CleanPath(%q) = %q, %v; want invalid_path", c.Path, got, err)
			}
			continue
		}
		if err != nil || got != c.Inside {
			t.Errorf("CleanPath(%q) = %q, %v; want %q", c.Path, got, err, c.Inside)
		}
	}
}

func TestCleanPathRoot(t *testing.T) {
	for _, p := range []string{"", "/"} {
		if got, err := storage.CleanPath(p); err != nil || got != "" {
			t.Errorf("CleanPath(%q) = %q, %v; want the root", p, got, err)
		}
	}
	if got, err := storage.CleanPath("/data/set-1/äöü 日本.bin"); err != nil || got != "data/set-1/äöü 日本.bin" {
		t.Errorf("ordinary path: %q, %v", got, err)
	}
}
