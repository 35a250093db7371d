package store

import "github.com/fold-es/fold/lib/vfs"

// WriteFileAtomic replaces path on the OS file system with data so that a
// crash leaves either the old file or the new one, never a mix
// (vfs.WriteFileAtomic). With durable false the syncs are skipped (the
// file is a cache, or --sync none).
func WriteFileAtomic(path string, data []byte, durable bool) error {
	return vfs.WriteFileAtomic(vfs.OS, path, data, durable)
}
