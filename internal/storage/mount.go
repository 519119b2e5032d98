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
	b := s.cfg.Regions[region]
	if b == nil {
		b = s.cfg.Default
	}
	switch b.(type) {
	case nil:
		return false, ""
	case *FS:
		return true, ""
	}
	return false, ObjectStorageNote
}
