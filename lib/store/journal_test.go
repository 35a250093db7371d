package store

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/vfs"
	"github.com/fold-es/fold/lib/vfs/crashfs"
)

// journalSeen reads a journal with r, keeping the last offset noted per
// stream.
type journalSeen struct {
	r    *journalReader
	last map[record.StreamID]int64
	n    int
	lost bool
}

func readJournalFrom(fsys vfs.FS, meta string) *journalSeen {
	return &journalSeen{r: &journalReader{fs: fsys, meta: meta, next: 1}, last: map[record.StreamID]int64{}}
}

func (s *journalSeen) read(t *testing.T) {
	t.Helper()
	lost, err := s.r.read(true, func(id record.StreamID, off int64) {
		s.n++
		s.last[id] = max(s.last[id], off)
	})
	if err != nil {
		t.Fatal(err)
	}
	s.lost = s.lost || lost
}

// appendEvents appends n event lines to id through a writer of r, syncing
// after each when sync is set, and returns the log's size.
func appendEvents(t *testing.T, r Root, id record.StreamID, n int, sync bool) int64 {
	t.Helper()
	w, _, err := r.OpenWriter(id, true)
	if err != nil {
		t.Error(err)
		return 0
	}
	defer w.Close()
	size, err := w.(*fileWriter).Handle().Size()
	if err != nil {
		t.Error(err)
		return 0
	}
	for range n {
		line := []byte(`{"type":"Incremented","data":null,"ts":1}` + "\n")
		if err := w.Append(line, size); err != nil {
			t.Error(err)
			return 0
		}
		size += int64(len(line))
		if sync {
			if err := w.Sync(); err != nil {
				t.Error(err)
			}
		}
	}
	return size
}

// TestJournalWritersInParallel: writers of several processes (each its
// own Root, as each fold-exec has its own) and goroutines append at once,
// synced or not; the journal then names every stream with the offset its
// log ends at, in whole lines only.
func TestJournalWritersInParallel(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	var mu sync.Mutex
	want := map[record.StreamID]int64{}
	for p := range 3 {
		r := Open(dir)
		for g := range 4 {
			wg.Go(func() {
				for i := range 20 {
					// Some streams are shared by every writer, some are
					// one goroutine's.
					id := record.StreamID{Type: "counter", ID: fmt.Sprintf("s%d", i%5)}
					if i%2 == 1 {
						id.ID = fmt.Sprintf("own-%d-%d-%d", p, g, i)
					}
					n := appendEvents(t, r, id, 1+i%3, i%3 == 0)
					mu.Lock()
					want[id] = max(want[id], n)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	seen := readJournalFrom(vfs.OS, filepath.Join(dir, "meta"))
	seen.read(t)
	for id, size := range want {
		if seen.last[id] != size {
			t.Errorf("%s: journal says %d, log ends at %d", id, seen.last[id], size)
		}
	}
	if seen.lost {
		t.Error("lines reported lost")
	}
	// Every line is whole: as many parsed as there are newlines.
	b, err := os.ReadFile(journalPath(filepath.Join(dir, "meta"), 1))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(b), "\n"); lines != seen.n {
		t.Errorf("%d lines, %d of them journal lines", lines, seen.n)
	}
}

// TestJournalTrimmed: the journal moves to a new segment when the newest
// is full and keeps two, a reader following it sees every line, and one
// that fell two segments behind is told it lost lines.
func TestJournalTrimmed(t *testing.T) {
	dir := t.TempDir()
	meta := filepath.Join(dir, "meta")
	r := Open(dir)
	r.journal.segment = 1 << 10
	follower := readJournalFrom(vfs.OS, meta)
	late := readJournalFrom(vfs.OS, meta)
	late.read(t)
	want := map[record.StreamID]int64{}
	for i := range 200 {
		id := record.StreamID{Type: "counter", ID: fmt.Sprintf("i-%d", i%37)}
		want[id] = appendEvents(t, r, id, 1, i%2 == 0)
		follower.read(t)
		seqs, err := journalSegments(vfs.OS, meta)
		if err != nil {
			t.Fatal(err)
		}
		if len(seqs) > 2 {
			t.Fatalf("after %d appends, segments %v", i+1, seqs)
		}
	}
	seqs, _ := journalSegments(vfs.OS, meta)
	if seqs[len(seqs)-1] < 5 {
		t.Fatalf("segments %v: the journal was not trimmed", seqs)
	}
	for id, size := range want {
		if follower.last[id] != size {
			t.Errorf("%s: the follower read offset %d, log ends at %d", id, follower.last[id], size)
		}
	}
	if follower.lost {
		t.Error("a reader that kept up was told it lost lines")
	}
	late.read(t)
	if !late.lost {
		t.Error("a reader that fell behind by several segments was not told it lost lines")
	}
}

// TestJournalTornLine: a reader waits for a line's newline; half a line
// left by a crash is skipped once the next writer, which starts with a
// newline, has written after it, and that writer's lines stay whole.
func TestJournalTornLine(t *testing.T) {
	dir := t.TempDir()
	meta := filepath.Join(dir, "meta")
	a := record.StreamID{Type: "counter", ID: "a"}
	b := record.StreamID{Type: "counter", ID: "b"}
	aSize := appendEvents(t, Open(dir), a, 1, true)
	f, err := os.OpenFile(journalPath(meta, 1), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"type":"counter","id":"b","offset":1`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	seen := readJournalFrom(vfs.OS, meta)
	seen.read(t)
	if seen.n != 1 || seen.last[a] != aSize {
		t.Fatalf("read %d lines (%v); want a's alone", seen.n, seen.last)
	}
	bSize := appendEvents(t, Open(dir), b, 2, false) // another process, one note for both
	seen.read(t)
	if seen.n != 2 || seen.last[b] != bSize {
		t.Fatalf("read %d lines (%v); want b's at %d after a's", seen.n, seen.last, bSize)
	}
}

// TestJournalCrash: a power cut at any point while writers append and
// flush leaves a journal that reads (whole lines, each naming an offset
// its stream's log reached), and a root on which the next writer's note
// reads whole however the last line was torn.
func TestJournalCrash(t *testing.T) {
	const dir = "/srv/root"
	points := 0
	for seed := range uint64(40) {
		c := crashfs.New()
		c.RecordCuts(rand.New(rand.NewPCG(seed, 1)))
		r := OpenFS(dir, c)
		r.journal.segment = 512
		reached := map[record.StreamID]int64{}
		rng := rand.New(rand.NewPCG(seed, 2))
		for range 30 {
			id := record.StreamID{Type: "counter", ID: fmt.Sprintf("s%d", rng.IntN(4))}
			reached[id] = appendEvents(t, r, id, 1+rng.IntN(2), rng.IntN(2) == 0)
		}
		for _, cut := range c.TakeCuts() {
			points++
			seen := readJournalFrom(cut.FS, dir+"/meta")
			seen.read(t)
			for id, off := range seen.last {
				if off > reached[id] {
					t.Fatalf("seed %d, after %v: %s noted at %d, past the %d written", seed, cut.After, id, off, reached[id])
				}
			}
			// The next writer on what is left: its note reads whole.
			next := OpenFS(dir, cut.FS)
			id := record.StreamID{Type: "counter", ID: "next"}
			size := appendEvents(t, next, id, 1, true)
			seen.read(t)
			if seen.last[id] != size {
				t.Fatalf("seed %d, after %v: the next writer's note was not read whole (%v)", seed, cut.After, seen.last)
			}
		}
	}
	t.Logf("%d power cuts checked", points)
}

// BenchmarkAppend is what the journal costs a writer's append with
// --sync none (no flush: the notes are written every journalDelay), and
// with a flush per append (--sync each: a note per flush), against the
// same without the journal.
func BenchmarkAppend(b *testing.B) {
	line := []byte(`{"type":"Incremented","data":null,"ts":1764446400,"id":"5f072170-7d78-448e-98b3-3642ab780ee9"}` + "\n")
	for _, sync := range []bool{false, true} {
		for _, journal := range []bool{false, true} {
			b.Run(fmt.Sprintf("sync=%v/journal=%v", sync, journal), func(b *testing.B) {
				r := Open(b.TempDir())
				if !journal {
					r.journal = nil
				}
				ws := make([]Writer, 16) // appends spread over streams, as an engine's actors do
				sizes := make([]int64, len(ws))
				for i := range ws {
					w, _, err := r.OpenWriter(record.StreamID{Type: "counter", ID: fmt.Sprint(i)}, true)
					if err != nil {
						b.Fatal(err)
					}
					defer w.Close()
					ws[i] = w
				}
				b.ResetTimer()
				for i := range b.N {
					k := i % len(ws)
					if err := ws[k].Append(line, sizes[k]); err != nil {
						b.Fatal(err)
					}
					sizes[k] += int64(len(line))
					if sync {
						if err := ws[k].Sync(); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}
