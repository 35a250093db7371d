// Package storetest is the conformance kit for store.Store backends: Run
// puts a backend through what the programs expect of any store (discovery,
// appends and reads at the SPEC's byte positions, position checks, torn
// tails, the writer lock, group sync, snapshots, notifications), each in a
// subtest over a fresh store. The file backend (store.Root) runs it in
// lib/store; a NATS JetStream backend proves itself by running it too.
//
// The kit uses only the public APIs of lib/store, lib/eventlog and
// lib/record, so what it asserts is what a caller can see.
package storetest

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// Run runs the conformance subtests, each against a fresh store from open.
// open is called once per subtest; the store it returns must not exist yet
// (never written), and open should register any cleanup with t.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"NeverWritten", testNeverWritten},
		{"Create", testCreate},
		{"DiscoveryOrder", testDiscoveryOrder},
		{"ConcurrentCreate", testConcurrentCreate},
		{"AppendScan", testAppendScan},
		{"ScanStopsWithCallbackError", testScanStops},
		{"Check", testCheck},
		{"CheckLongLine", testCheckLongLine},
		{"Count", testCount},
		{"TornTail", testTornTail},
		{"CorruptLines", testCorruptLines},
		{"Lock", testLock},
		{"CloseReleasesLock", testCloseReleasesLock},
		{"InterleavedWriters", testInterleavedWriters},
		{"SyncWriters", testSyncWriters},
		{"Snapshots", testSnapshots},
		{"WatchNeverWritten", testWatchNeverWritten},
		{"Watch", testWatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// Event lines in the eventfold format, as fold-exec writes them.
const (
	line1 = `{"type":"Opened","data":null,"ts":1764446400}`
	line2 = `{"type":"Deposited","data":{"amount":5,"note":"é <&>"},"ts":1764446401,"actor":"alice"}`
	line3 = `{"type":"Closed","data":null,"ts":1764446402,"meta":{"correlation_id":"c-1"}}`
)

const (
	lockWait   = 5 * time.Second       // for a lock nobody else holds
	lockBusy   = 50 * time.Millisecond // for a lock someone else holds
	notifyWait = 5 * time.Second       // for a change that must come
)

var (
	account = record.StreamID{Type: "account", ID: "a-1"}
	other   = record.StreamID{Type: "account", ID: "a-2"}
)

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// create makes a stream that must not exist yet and returns its writer,
// closed when the test ends.
func create(t *testing.T, s store.Store, id record.StreamID) store.Writer {
	t.Helper()
	w, created, err := s.OpenWriter(id, true)
	if err != nil {
		t.Fatalf("OpenWriter(%s, create) = %v", id, err)
	}
	t.Cleanup(func() { _ = w.Close() })
	if !created {
		t.Fatalf("OpenWriter(%s, create) on a new stream: created = false", id)
	}
	return w
}

// openWriter opens an existing stream's writer, closed when the test ends.
func openWriter(t *testing.T, s store.Store, id record.StreamID) store.Writer {
	t.Helper()
	w, created, err := s.OpenWriter(id, false)
	if err != nil {
		t.Fatalf("OpenWriter(%s) = %v", id, err)
	}
	t.Cleanup(func() { _ = w.Close() })
	if created {
		t.Errorf("OpenWriter(%s) without create: created = true", id)
	}
	return w
}

// openLog opens a stream's log for reading, closed when the test ends.
func openLog(t *testing.T, s store.Store, id record.StreamID) store.Log {
	t.Helper()
	l, err := s.OpenLog(id)
	if err != nil {
		t.Fatalf("OpenLog(%s) = %v", id, err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// write appends data (raw bytes: lines, or anything else) as a writer
// does: take the lock, find the end (a torn tail counts), append, and with
// sync set, Sync. It returns where data starts and ends.
func write(t *testing.T, w store.Writer, data string, sync bool) (start, end int64) {
	t.Helper()
	unlock, err := w.Lock(t.Context(), lockWait)
	if err != nil {
		t.Fatalf("Lock %s = %v", w.Name(), err)
	}
	tail, err := w.Scan(eventlog.Tail{}, -1, func(eventlog.Entry) error { return nil })
	if err != nil {
		_ = unlock()
		t.Fatalf("Scan %s = %v", w.Name(), err)
	}
	start = tail.Offset + tail.Torn
	if err := w.Append([]byte(data), start); err != nil {
		_ = unlock()
		t.Fatalf("Append to %s = %v", w.Name(), err)
	}
	if sync {
		if err := w.Sync(); err != nil {
			_ = unlock()
			t.Fatalf("Sync %s = %v", w.Name(), err)
		}
	}
	if err := unlock(); err != nil {
		t.Fatalf("unlock %s = %v", w.Name(), err)
	}
	return start, start + int64(len(data))
}

// lines joins lines, each ending in a newline.
func lines(ls ...string) string {
	return strings.Join(ls, "\n") + "\n"
}

// scanAll scans l from from to end, returning the entries (their Line
// copied) and the tail.
func scanAll(t *testing.T, l store.Log, from eventlog.Tail, end int64) ([]eventlog.Entry, eventlog.Tail) {
	t.Helper()
	var got []eventlog.Entry
	tail, err := l.Scan(from, end, func(e eventlog.Entry) error {
		e.Line = slices.Clone(e.Line)
		got = append(got, e)
		return nil
	})
	if err != nil {
		t.Fatalf("Scan %s from %d to %d = %v", l.Name(), from.Offset, end, err)
	}
	return got, tail
}

// wantEntries checks entries against the lines they should be, the first
// starting at offset start with version v.
func wantEntries(t *testing.T, got []eventlog.Entry, start int64, v uint64, want ...string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("scan returned %d entries, want %d: %s", len(got), len(want), describe(got))
	}
	for i, e := range got {
		end := start + int64(len(want[i])) + 1
		if string(e.Line) != want[i] || e.Start != start || e.End != end || e.Version != v || e.Hash != record.Hash([]byte(want[i])) {
			t.Errorf("entry %d = %s; want line %q, start %d, end %d, version %d, hash %s",
				i, describe(got[i:i+1]), want[i], start, end, v, record.Hash([]byte(want[i])))
		}
		if e.Err != nil {
			t.Errorf("entry %d: Err = %v for an event line", i, e.Err)
		}
		start, v = end, v+1
	}
}

func describe(es []eventlog.Entry) string {
	out := ""
	for _, e := range es {
		out += fmt.Sprintf("{line %q start %d end %d version %d hash %s err %v}", e.Line, e.Start, e.End, e.Version, e.Hash, e.Err)
	}
	return out
}

// tailAt is the position just past an entry, as a cursor records it: the
// start of its line is not known.
func tailAt(e eventlog.Entry) eventlog.Tail {
	return eventlog.Tail{Offset: e.End, Hash: e.Hash, LastStart: -1, Version: e.Version}
}
