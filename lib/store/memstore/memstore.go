// Package memstore is a store.Store held in memory: the second backend
// behind the interface, as nats-server keeps a memstore beside its
// filestore. It passes the same conformance tests as the file backend
// (storetest.Run), and the packages above the store run their tests on it
// too, which is what shows that they depend on the interface alone and
// that a network backend (NATS JetStream, SPEC §7) needs no change to
// them. Logs hold the eventfold-format bytes, so offsets and hashes are
// the ones a file would have. Nothing survives the process.
package memstore

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"time"

	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// Store is an in-memory store. The zero value is not usable: use New.
type Store struct {
	name string

	mu       sync.Mutex
	streams  map[record.StreamID]*stream
	order    []record.StreamID // creation order
	snaps    map[record.StreamID]record.Snapshot
	watchers map[*watcher]bool
}

var _ store.Store = (*Store)(nil)

// New returns an empty store named name in messages ("mem:name").
func New(name string) *Store {
	return &Store{name: name, streams: map[record.StreamID]*stream{},
		snaps: map[record.StreamID]record.Snapshot{}, watchers: map[*watcher]bool{}}
}

// stream is one log: its bytes and its writer lock.
type stream struct {
	id   record.StreamID
	name string
	lock store.LocalLock

	mu sync.Mutex
	// data only grows in place: a truncation copies, so a slice a reader
	// took is never written over.
	data []byte
}

func (st *stream) bytes() []byte {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.data
}

// Location is "mem:" and the store's name.
func (s *Store) Location() string { return "mem:" + s.name }

// Exists reports whether anything was written.
func (s *Store) Exists() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.order) > 0 || len(s.snaps) > 0
}

// Streams lists the streams of the given types (or all) in creation order.
func (s *Store) Streams(types ...string) ([]record.StreamID, error) {
	sel := store.Select(types, nil)
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []record.StreamID
	for _, id := range s.order {
		if sel.Wants(id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// StreamsUnchecked is Streams: a stream here never loses its log.
func (s *Store) StreamsUnchecked(types ...string) ([]record.StreamID, error) {
	return s.Streams(types...)
}

// HasStream reports whether id was created.
func (s *Store) HasStream(id record.StreamID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streams[id] != nil
}

func (s *Store) get(id record.StreamID) (*stream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.streams[id]; st != nil {
		return st, nil
	}
	return nil, store.NoStreamError(id, fs.ErrNotExist)
}

// OpenLog opens a stream's log for reading.
func (s *Store) OpenLog(id record.StreamID) (store.Log, error) {
	st, err := s.get(id)
	if err != nil {
		return nil, err
	}
	return &memLog{st: st}, nil
}

// OpenWriter opens a stream's log for appending, creating it with create.
func (s *Store) OpenWriter(id record.StreamID, create bool) (store.Writer, bool, error) {
	if err := store.CheckStream(id); err != nil {
		return nil, false, err
	}
	if !create {
		st, err := s.get(id)
		if err != nil {
			return nil, false, err
		}
		return &writer{memLog: memLog{st: st}, s: s, hold: store.LockHold{L: st.lock}}, false, nil
	}
	s.mu.Lock()
	st, created := s.streams[id], false
	if st == nil {
		st, created = &stream{id: id, name: s.Location() + "/" + id.String(), lock: store.NewLocalLock()}, true
		s.streams[id] = st
		s.order = append(s.order, id)
	}
	s.mu.Unlock()
	if created {
		s.notify(id)
	}
	return &writer{memLog: memLog{st: st}, s: s, hold: store.LockHold{L: st.lock}}, created, nil
}

// SyncWriters does nothing: what is appended is as durable as it gets.
func (s *Store) SyncWriters([]store.Writer) error { return nil }

// LoadSnapshot returns a copy of the stream's snapshot, or nil.
func (s *Store) LoadSnapshot(id record.StreamID) (*record.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap, ok := s.snaps[id]
	if !ok {
		return nil, nil
	}
	snap.State, snap.Version = bytes.Clone(snap.State), copyVersion(snap.Version)
	return &snap, nil
}

// copyVersion keeps a snapshot's version apart from the caller's.
func copyVersion(v *uint64) *uint64 {
	if v == nil {
		return nil
	}
	c := *v
	return &c
}

// SaveSnapshot keeps a copy of snap, its state compacted as a loaded
// snapshot's is.
func (s *Store) SaveSnapshot(id record.StreamID, snap record.Snapshot, _ bool) error {
	state, err := record.CompactState(snap.State)
	if err != nil {
		return fmt.Errorf("encode snapshot: %w", err)
	}
	snap.State, snap.Version = state, copyVersion(snap.Version)
	s.mu.Lock()
	s.snaps[id] = snap
	s.mu.Unlock()
	return nil
}

// memLog is a stream opened for reading.
type memLog struct {
	st *stream
}

func (l *memLog) Name() string { return l.st.name }

func (l *memLog) Check(t *eventlog.Tail) (eventlog.Check, error) {
	data := l.st.bytes()
	size := int64(len(data))
	switch {
	case t.Offset <= 0:
		if size > 0 {
			return eventlog.More, nil
		}
		return eventlog.Same, nil
	case t.Offset > size:
		return eventlog.Short, nil
	case data[t.Offset-1] != '\n':
		return eventlog.Changed, nil
	}
	start := int64(bytes.LastIndexByte(data[:t.Offset-1], '\n') + 1)
	if t.LastStart >= 0 && t.LastStart != start || record.Hash(data[start:t.Offset-1]) != t.Hash {
		return eventlog.Changed, nil
	}
	t.LastStart = start
	if t.Offset < size {
		return eventlog.More, nil
	}
	return eventlog.Same, nil
}

func (l *memLog) Count(t *eventlog.Tail) error {
	data := l.st.bytes()
	if t.Offset > int64(len(data)) {
		return fmt.Errorf("count %s: offset %d is past the end", l.st.name, t.Offset)
	}
	t.Version = uint64(bytes.Count(data[:t.Offset], []byte{'\n'}))
	return nil
}

func (l *memLog) Scan(from eventlog.Tail, end int64, fn func(eventlog.Entry) error) (eventlog.Tail, error) {
	return eventlog.ScanAt(bytes.NewReader(l.st.bytes()), l.st.name, from, end, fn)
}

func (l *memLog) Durable() (int64, error) { return int64(len(l.st.bytes())), nil }

func (l *memLog) Close() error { return nil }

// writer is a stream opened for appending.
type writer struct {
	memLog
	s    *Store
	hold store.LockHold
}

func (w *writer) Lock(ctx context.Context, timeout time.Duration) (func() error, error) {
	return w.hold.Lock(ctx, timeout, w.st.name)
}

func (w *writer) Append(lines []byte, _ int64) error {
	w.st.mu.Lock()
	w.st.data = append(w.st.data, lines...)
	w.st.mu.Unlock()
	w.s.notify(w.st.id)
	return nil
}

func (w *writer) Truncate(end int64) error {
	w.st.mu.Lock()
	defer w.st.mu.Unlock()
	if end < int64(len(w.st.data)) {
		w.st.data = bytes.Clone(w.st.data[:end])
	}
	return nil
}

func (w *writer) Sync() error { return nil }

func (w *writer) Close() error { return w.hold.Unlock() }

// Watch reports appends and new streams among sel from now on.
func (s *Store) Watch(sel store.Selection, _ *slog.Logger) (store.Watcher, error) {
	w := &watcher{sel: sel}
	w.ChangeQueue = store.NewChangeQueue(func() {
		s.mu.Lock()
		delete(s.watchers, w)
		s.mu.Unlock()
	})
	s.mu.Lock()
	s.watchers[w] = true
	s.mu.Unlock()
	return w, nil
}

// notify queues a change of id for every watcher that selects it.
func (s *Store) notify(id record.StreamID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for w := range s.watchers {
		if w.sel.Wants(id) {
			w.Queue(store.Change{Stream: id})
		}
	}
}

// watcher is a selection's queue of changes.
type watcher struct {
	*store.ChangeQueue
	sel store.Selection
}
