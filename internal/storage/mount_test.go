package storage_test

import (
	"testing"

	"github.com/gpuaas/gpuaas/internal/storage"
)

// TestMountableEverywhere: the answer for any region is given without the
// region only while no region has a backend of its own.
func TestMountableEverywhere(t *testing.T) {
	fs, err := storage.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	objects := &storage.S3{}
	for _, c := range []struct {
		name     string
		cfg      storage.Config
		ok, same bool
		note     string
	}{
		{name: "no storage", cfg: storage.Config{}, same: true},
		{name: "fs everywhere", cfg: storage.Config{Default: fs}, ok: true, same: true},
		{name: "objects everywhere", cfg: storage.Config{Default: objects}, note: storage.ObjectStorageNote, same: true},
		{name: "a region of its own", cfg: storage.Config{Default: fs, Regions: map[string]storage.Backend{"r2": objects}}},
	} {
		s := storage.New(nil, c.cfg)
		ok, note, same := s.MountableEverywhere()
		if ok != c.ok || note != c.note || same != c.same {
			t.Errorf("%s: %v %q %v, want %v %q %v", c.name, ok, note, same, c.ok, c.note, c.same)
		}
		if !same {
			continue
		}
		// Where it is the same everywhere, it is what Mountable says of any region.
		for _, r := range []string{"r1", "r2"} {
			if rok, rnote := s.Mountable(r); rok != ok || rnote != note {
				t.Errorf("%s: Mountable(%s) %v %q, everywhere %v %q", c.name, r, rok, rnote, ok, note)
			}
		}
	}
	s := storage.New(nil, storage.Config{Default: fs, Regions: map[string]storage.Backend{"r2": objects}})
	if ok, _ := s.Mountable("r1"); !ok {
		t.Error("r1 is served by the default fs")
	}
	if ok, note := s.Mountable("r2"); ok || note != storage.ObjectStorageNote {
		t.Errorf("r2: %v %q", ok, note)
	}
}
