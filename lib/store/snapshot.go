package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/fold-es/fold/lib/record"
)

// LoadSnapshot reads a stream's snapshot; it returns nil, nil when there is
// none. A snapshot that does not parse is reported so the caller can ignore
// it and rebuild: a snapshot is only ever a cache of the log.
func (r Root) LoadSnapshot(id record.StreamID) (*record.Snapshot, error) {
	data, err := os.ReadFile(r.SnapshotPath(id))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	var s record.Snapshot
	if err := record.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", r.SnapshotPath(id), err)
	}
	if s.State == nil {
		s.State = record.Null
	}
	// eventfold-es pretty-prints; the state is handed on as one line.
	var buf bytes.Buffer
	if err := record.Compact(&buf, s.State); err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", r.SnapshotPath(id), err)
	}
	s.State = buf.Bytes()
	return &s, nil
}

// SaveSnapshot replaces a stream's snapshot atomically. It is pretty-printed
// like eventfold-es's, with the version added (eventfold-es ignores it).
func (r Root) SaveSnapshot(id record.StreamID, s record.Snapshot, durable bool) error {
	data, err := record.MarshalIndent(s)
	if err != nil {
		return fmt.Errorf("encode snapshot: %w", err)
	}
	return WriteFileAtomic(r.SnapshotPath(id), data, durable)
}
