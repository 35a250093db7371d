package jetstream

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/fold-es/fold/lib/record"
)

// bucket is the name of the store's snapshot bucket.
func (s *Store) bucket() string { return s.cfg.Name + "_snapshots" }

// storedSnapshot is a snapshot as the bucket keeps it: the file
// backend's fields, and where the message that its position ends in lies,
// so that loading it finds that message at once.
type storedSnapshot struct {
	record.Snapshot
	Seq   uint64 `json:"seq,omitempty"`
	Start int64  `json:"start,omitempty"`
	End   int64  `json:"end,omitempty"`
}

// getKV returns the snapshot bucket; nil when it does not exist and
// create is false.
func (s *Store) getKV(ctx context.Context, create bool) (jetstream.KeyValue, error) {
	s.mu.Lock()
	kv := s.kv
	s.mu.Unlock()
	if kv != nil {
		return kv, nil
	}
	if create {
		s.creating.Lock()
		defer s.creating.Unlock()
	}
	err := s.retry(ctx, "open "+s.bucket(), func(ctx context.Context) error {
		var err error
		kv, err = s.js.KeyValue(ctx, s.bucket())
		if errors.Is(err, jetstream.ErrBucketNotFound) && create {
			kv, err = s.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
				Bucket: s.bucket(), Description: "snapshots of fold store " + s.cfg.Name,
				History: 1, Storage: jetstream.FileStorage, Replicas: s.cfg.Replicas,
			})
			if errors.Is(err, jetstream.ErrBucketExists) {
				kv, err = s.js.KeyValue(ctx, s.bucket())
			}
		}
		return err
	})
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.kv == nil {
		s.kv = kv
	}
	kv = s.kv
	s.mu.Unlock()
	return kv, nil
}

// LoadSnapshot reads a stream's snapshot from the bucket: nil, nil when
// there is none.
func (s *Store) LoadSnapshot(id record.StreamID) (*record.Snapshot, error) {
	ctx := context.Background()
	kv, err := s.getKV(ctx, false)
	if err != nil || kv == nil {
		return nil, err
	}
	var e jetstream.KeyValueEntry
	err = s.retry(ctx, "read snapshot", func(ctx context.Context) error {
		var err error
		e, err = kv.Get(ctx, snapshotKey(id))
		return err
	})
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read snapshot of %s: %w", id, err)
	}
	var st storedSnapshot
	if err := record.Unmarshal(e.Value(), &st); err != nil {
		return nil, fmt.Errorf("snapshot of %s in %s: %w", id, s.bucket(), err)
	}
	if st.State, err = record.CompactState(st.State); err != nil {
		return nil, fmt.Errorf("snapshot of %s in %s: %w", id, s.bucket(), err)
	}
	if st.Seq > 0 {
		s.bounds.add(s.subj.events(id), &msg{seq: st.Seq, start: st.Start, data: make([]byte, st.End-st.Start)})
	}
	return &st.Snapshot, nil
}

// SaveSnapshot puts a stream's snapshot in the bucket. The bucket is
// replicated as the stream is; durable changes nothing, since the
// server acknowledges a put once it stored it.
func (s *Store) SaveSnapshot(id record.StreamID, snap record.Snapshot, _ bool) error {
	ctx := context.Background()
	state, err := record.CompactState(snap.State)
	if err != nil {
		return fmt.Errorf("encode snapshot: %w", err)
	}
	st := storedSnapshot{Snapshot: snap}
	st.State = state
	if r, ok := s.bounds.at(s.subj.events(id), snap.Offset); ok {
		st.Seq, st.Start, st.End = r.seq, r.start, r.end
	}
	data, err := record.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode snapshot: %w", err)
	}
	kv, err := s.getKV(ctx, true)
	if err != nil {
		return fmt.Errorf("save snapshot of %s: %w", id, err)
	}
	return s.retry(ctx, "save snapshot", func(ctx context.Context) error {
		_, err := kv.Put(ctx, snapshotKey(id), data)
		return err
	})
}
