package storage

// ObjectStorageNote is what an allocation's events say when its region
// keeps files in object storage, which nodes do not mount.
const ObjectStorageNote = "Storage: this region keeps your files in object storage, which is not mounted at /workspace; " +
	"use `gpuaas storage cp` to move files between the node and your storage"

// Mountable reports whether region's storage is a filesystem that its
// nodes mount (the fs backend, at the agent's --storage-path): then an
// allocation there gets its owner's namespace at /workspace. When not,
// note is what the allocation's events say, empty where storage is not
// configured at all (nothing to say on every allocation of a server
// without storage).
func (s *Service) Mountable(region string) (ok bool, note string) {
	return mountable(s.backend(region))
}

// MountableEverywhere is Mountable's answer when it is the same for every
// region (no region has a backend of its own), so a caller need not look
// up a node's region to ask; same is false otherwise.
func (s *Service) MountableEverywhere() (ok bool, note string, same bool) {
	if len(s.cfg.Regions) > 0 {
		return false, "", false
	}
	ok, note = mountable(s.cfg.Default)
	return ok, note, true
}

// backend serves region: its own, or the default.
func (s *Service) backend(region string) Backend {
	if b := s.cfg.Regions[region]; b != nil {
		return b
	}
	return s.cfg.Default
}

func mountable(b Backend) (ok bool, note string) {
	switch b.(type) {
	case nil:
		return false, ""
	case *FS:
		return true, ""
	}
	return false, ObjectStorageNote
}
