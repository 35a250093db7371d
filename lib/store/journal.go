package store

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/vfs"
)

// The change journal is how a follower learns which streams grew without
// watching each one: fold's writers append a line per stream they appended
// to, {"type":T,"id":I,"offset":N} (N: where the log ended after the
// append), to meta/changes.<seq>.jsonl, and followers watch that one
// directory and read the new lines. It is a hint, never the truth: it is
// written after the log, never flushed, and a line lost (a crash, a full
// disk, a writer that is not fold) only delays a follower until its scan
// of the logs (notify_scan.go) finds the change. eventfold-es ignores
// files under meta/ other than streams.jsonl.
//
// The journal is a run of segments. Writers append to the newest; one that
// finds it past journalSegment bytes starts the next and removes those
// before the one it filled, so the journal stays two segments at most
// whatever the writers do, and no writer ever rewrites or truncates a
// segment others may be appending to or reading.
const (
	journalPrefix  = "changes."
	journalSuffix  = ".jsonl"
	journalSegment = 4 << 20
	// journalDelay is how long a note waits for a flush of the logs
	// (Sync, SyncWriters), after which it is written anyway: --sync none
	// never flushes. Notes made within it are written together.
	journalDelay = time.Millisecond
	// journalChunk bounds one write, so writes stay small enough that
	// O_APPEND keeps concurrent writers' lines whole.
	journalChunk = 4 << 10
	// journalBacklog is how many notes may wait before a note writes
	// them at once.
	journalBacklog = 1024
)

// journalPath is meta/changes.<seq>.jsonl.
func journalPath(meta string, seq uint64) string {
	return filepath.Join(meta, journalPrefix+strconv.FormatUint(seq, 10)+journalSuffix)
}

// journalSeq reads the sequence number out of a segment's file name.
func journalSeq(name string) (uint64, bool) {
	s, ok := strings.CutPrefix(name, journalPrefix)
	if !ok {
		return 0, false
	}
	if s, ok = strings.CutSuffix(s, journalSuffix); !ok || s == "" || s[0] == '0' {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// journalSegments lists the segments in meta/, oldest first; none when
// meta/ does not exist.
func journalSegments(fsys vfs.FS, meta string) ([]uint64, error) {
	entries, err := fsys.ReadDir(meta)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var seqs []uint64
	for _, e := range entries {
		if n, ok := journalSeq(e.Name()); ok && !e.IsDir() {
			seqs = append(seqs, n)
		}
	}
	slices.Sort(seqs)
	return seqs, nil
}

// journalLine is one line of the journal.
type journalLine struct {
	Type   string `json:"type"`
	ID     string `json:"id"`
	Offset int64  `json:"offset"`
}

// appendJournalLine encodes a line, newline included.
func appendJournalLine(b []byte, id record.StreamID, offset int64) []byte {
	b = append(b, `{"type":`...)
	b = record.AppendString(b, id.Type)
	b = append(b, `,"id":`...)
	b = record.AppendString(b, id.ID)
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, offset, 10)
	return append(b, "}\n"...)
}

// journal is one process's writing end of a root's change journal, shared
// by the Root's copies. Notes wait in memory, one per stream, until a
// flush of the logs (the lines then follow the data onto the disk, and a
// follower finds it durable), journalDelay, or the last writer's Close.
type journal struct {
	fs      vfs.FS
	meta    string
	segment int64 // journalSegment; tests make it smaller

	mu      sync.Mutex
	notes   []journalNote
	at      map[record.StreamID]int // index in notes
	armed   bool                    // a timer will write the notes
	writers int                     // open writers: the segment is kept open while there are any

	wmu  sync.Mutex // the segment and the writes to it
	f    vfs.File
	seq  uint64
	torn bool // the segment ends in a torn line: the next write starts with a newline
	buf  []byte
}

type journalNote struct {
	id     record.StreamID
	offset int64
}

func newJournal(fsys vfs.FS, meta string) *journal {
	return &journal{fs: fsys, meta: meta, segment: journalSegment, at: map[record.StreamID]int{}}
}

// note records that id's log now ends at offset.
func (j *journal) note(id record.StreamID, offset int64) {
	if j == nil {
		return
	}
	j.mu.Lock()
	if i, ok := j.at[id]; ok {
		j.notes[i].offset = offset
		j.mu.Unlock()
		return
	}
	j.at[id] = len(j.notes)
	j.notes = append(j.notes, journalNote{id, offset})
	full, arm := len(j.notes) >= journalBacklog, !j.armed
	j.armed = true
	j.mu.Unlock()
	switch {
	case full:
		j.flush()
	case arm:
		time.AfterFunc(journalDelay, j.flush)
	}
}

// flush writes the notes waiting, and closes the segment when no writer
// is open. Errors are dropped: a line that is not written is a hint lost,
// which followers make up for by scanning.
func (j *journal) flush() {
	if j == nil {
		return
	}
	j.mu.Lock()
	notes := j.notes
	j.notes = nil
	clear(j.at)
	j.armed = false
	idle := j.writers == 0
	j.mu.Unlock()
	j.wmu.Lock()
	defer j.wmu.Unlock()
	if idle {
		defer j.closeLocked()
	}
	b := j.buf[:0]
	for _, n := range notes {
		b = appendJournalLine(b, n.id, n.offset)
	}
	j.buf = b[:0]
	for len(b) > 0 {
		n := len(b)
		if n > journalChunk {
			n = lineStart(b, journalChunk)
		}
		if err := j.writeLocked(b[:n]); err != nil {
			j.closeLocked()
			return
		}
		b = b[n:]
	}
}

// lineStart is the end of the last whole line within b[:max], or of the
// first line when it is longer.
func lineStart(b []byte, max int) int {
	for i := max - 1; i >= 0; i-- {
		if b[i] == '\n' {
			return i + 1
		}
	}
	for i := max; i < len(b); i++ {
		if b[i] == '\n' {
			return i + 1
		}
	}
	return len(b)
}

// acquire and release count the open writers; the last release writes
// what is waiting and closes the segment.
func (j *journal) acquire() {
	if j == nil {
		return
	}
	j.mu.Lock()
	j.writers++
	j.mu.Unlock()
}

func (j *journal) release() {
	if j == nil {
		return
	}
	j.mu.Lock()
	j.writers--
	j.mu.Unlock()
	j.flush()
}

// writeLocked appends lines to the newest segment, moving to the next
// first when it is full. j.wmu is held.
func (j *journal) writeLocked(lines []byte) error {
	for {
		if j.f == nil {
			if err := j.openLocked(); err != nil {
				return err
			}
		}
		size, err := j.f.Size()
		if err != nil {
			return err
		}
		if size < j.segment {
			break
		}
		if err := j.nextLocked(); err != nil {
			return err
		}
	}
	if j.torn {
		lines = append([]byte{'\n'}, lines...)
	}
	if _, err := j.f.Write(lines); err != nil {
		return err
	}
	j.torn = false
	return nil
}

// openLocked opens the newest segment, or makes the first.
func (j *journal) openLocked() error {
	seqs, err := journalSegments(j.fs, j.meta)
	if err != nil {
		return err
	}
	seq := uint64(1)
	if len(seqs) > 0 {
		seq = seqs[len(seqs)-1]
	} else if _, err := vfs.MkdirAll(j.fs, j.meta, 0o755); err != nil {
		return err
	}
	return j.openSeqLocked(seq)
}

func (j *journal) openSeqLocked(seq uint64) error {
	f, err := j.fs.OpenFile(journalPath(j.meta, seq), os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	// A crash may have left half a line at the end: a newline keeps the
	// next line whole.
	torn := false
	if size, err := f.Size(); err == nil && size > 0 {
		var last [1]byte
		if n, err := f.Pread(last[:], size-1); err == nil && n == 1 && last[0] != '\n' {
			torn = true
		}
	}
	j.closeLocked()
	j.f, j.seq, j.torn = f, seq, torn
	return nil
}

// nextLocked moves from a full segment to the next: the newest one if
// another writer has moved on already, else a new one, removing the
// segments before the full one.
func (j *journal) nextLocked() error {
	seqs, err := journalSegments(j.fs, j.meta)
	if err != nil {
		return err
	}
	if newest := seqs[len(seqs)-1:]; len(newest) == 1 && newest[0] > j.seq {
		return j.openSeqLocked(newest[0])
	}
	next := j.seq + 1
	if err := j.openSeqLocked(next); err != nil {
		return err
	}
	for _, s := range seqs {
		if s+1 < next {
			_ = j.fs.Remove(journalPath(j.meta, s))
		}
	}
	return nil
}

func (j *journal) closeLocked() {
	if j.f != nil {
		_ = j.f.Close()
		j.f = nil
	}
}
