package store

import (
	"bytes"
	"os"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/vfs"
)

// journalReadBuf is how much of a segment one read takes; a line longer
// than it is not the journal's and is skipped.
const journalReadBuf = 64 << 10

// journalReader follows the change journal (journal.go) from where it
// ended when the reader was opened: it reads the lines appended since,
// segment after segment. It keeps the newest segment open and the one
// before it, which a writer that looked just before the newest began may
// still append a line to.
type journalReader struct {
	fs   vfs.FS
	meta string
	next uint64        // the first segment not opened yet, read from its start when it comes
	segs []*journalSeg // open, oldest first
	buf  []byte
}

type journalSeg struct {
	seq  uint64
	f    vfs.File
	off  int64 // where the next line starts
	end  int64 // how far the segment was read, a line not yet whole included
	skip bool  // in a line too long to be the journal's: drop up to its newline
}

// openJournal positions a reader at the end of the journal as it is.
func openJournal(fsys vfs.FS, meta string) (*journalReader, error) {
	j := &journalReader{fs: fsys, meta: meta, next: 1}
	seqs, err := journalSegments(fsys, meta)
	if err != nil || len(seqs) == 0 {
		return j, err
	}
	seg, err := j.open(seqs[len(seqs)-1])
	if err != nil {
		return j, err
	}
	size, err := seg.f.Size()
	if err != nil {
		_ = seg.f.Close()
		return j, err
	}
	seg.off, seg.end = size, size
	j.segs = []*journalSeg{seg}
	return j, nil
}

func (j *journalReader) open(seq uint64) (*journalSeg, error) {
	f, err := j.fs.OpenFile(journalPath(j.meta, seq), os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	if seq >= j.next {
		j.next = seq + 1
	}
	return &journalSeg{seq: seq, f: f}, nil
}

// read calls fn for each line appended since the last read. With list
// set, or when the newest segment is full or there is none yet, it looks
// for newer segments too. lost reports that lines may have been missed: a
// segment came and went unread (the reader fell two segments behind), or
// the journal was removed and started again.
func (j *journalReader) read(list bool, fn func(id record.StreamID, offset int64)) (lost bool, err error) {
	if j.buf == nil {
		j.buf = make([]byte, journalReadBuf)
	}
	for _, s := range j.segs {
		if err := j.readSeg(s, fn); err != nil {
			return false, err
		}
	}
	if n := len(j.segs); !list && n > 0 && j.segs[n-1].end < journalSegment {
		return false, nil
	}
	seqs, err := journalSegments(j.fs, j.meta)
	if err != nil {
		return false, err
	}
	if n := len(j.segs); n > 0 && (len(seqs) == 0 || seqs[len(seqs)-1] < j.segs[n-1].seq) {
		// The journal was removed (by hand) and begun again: read what
		// there is now from its start.
		j.close()
		j.next, lost = 1, true
	}
	for _, seq := range seqs {
		if seq < j.next {
			continue
		}
		if seq > j.next {
			lost = true
		}
		s, err := j.open(seq)
		if err != nil {
			return lost, err
		}
		j.segs = append(j.segs, s)
		if err := j.readSeg(s, fn); err != nil {
			return lost, err
		}
	}
	for len(j.segs) > 2 {
		_ = j.segs[0].f.Close()
		j.segs = j.segs[1:]
	}
	return lost, nil
}

// readSeg reads a segment's whole lines past s.off.
func (j *journalReader) readSeg(s *journalSeg, fn func(record.StreamID, int64)) error {
	for {
		n, err := s.f.Pread(j.buf, s.off)
		if err != nil {
			return err
		}
		b := j.buf[:n]
		s.end = s.off + int64(n)
		for len(b) > 0 {
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				break
			}
			line := b[:i]
			b = b[i+1:]
			s.off += int64(i + 1)
			if s.skip {
				s.skip = false
				continue
			}
			parseJournalLine(line, fn)
		}
		if n < len(j.buf) {
			return nil
		}
		if len(b) == len(j.buf) {
			// No newline in a whole buffer: not a journal line.
			s.off += int64(n)
			s.skip = true
		}
	}
}

// parseJournalLine calls fn for a line that names a stream; anything else
// (half a line a crash left, a foreign line) is skipped.
func parseJournalLine(line []byte, fn func(record.StreamID, int64)) {
	if len(line) == 0 || line[0] != '{' {
		return
	}
	var l journalLine
	if record.Unmarshal(line, &l) != nil {
		return
	}
	id := record.StreamID{Type: l.Type, ID: l.ID}
	if CheckStream(id) != nil || l.Offset < 0 {
		return
	}
	fn(id, l.Offset)
}

func (j *journalReader) close() {
	for _, s := range j.segs {
		_ = s.f.Close()
	}
	j.segs = nil
}
