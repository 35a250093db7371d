package eventlog

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/vfs"
)

func writeFile(t *testing.T, content string) *File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "app.jsonl")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := OpenAppend(vfs.OS, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func collect(t *testing.T, f *File, from Tail) ([]Entry, Tail) {
	t.Helper()
	var got []Entry
	tail, err := f.Scan(from, -1, func(e Entry) error {
		e.Line = append([]byte(nil), e.Line...)
		got = append(got, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, tail
}

const (
	line1 = `{"type":"A","data":null,"ts":1}`
	line2 = `{"type":"B","data":{"x":1},"ts":2}`
)

func TestScanOffsetsHashesVersions(t *testing.T) {
	f := writeFile(t, line1+"\n"+line2+"\n")
	got, tail := collect(t, f, Tail{})
	if len(got) != 2 {
		t.Fatalf("got %d entries, want 2", len(got))
	}
	if got[0].Start != 0 || got[0].End != int64(len(line1)+1) || got[0].Version != 1 {
		t.Errorf("entry 1 = %+v", got[0])
	}
	if got[1].End != int64(len(line1)+len(line2)+2) || got[1].Version != 2 {
		t.Errorf("entry 2 = %+v", got[1])
	}
	if got[1].Hash != record.Hash([]byte(line2)) || tail.Hash != got[1].Hash {
		t.Errorf("hash = %s, tail %s", got[1].Hash, tail.Hash)
	}
	if tail.Offset != got[1].End || tail.LastStart != got[1].Start || tail.Version != 2 || tail.Torn != 0 {
		t.Errorf("tail = %+v", tail)
	}
	// Resuming from the first entry's tail sees only the second.
	rest, _ := collect(t, f, Tail{Offset: got[0].End, Hash: got[0].Hash, Version: 1})
	if len(rest) != 1 || string(rest[0].Line) != line2 || rest[0].Version != 2 {
		t.Errorf("resume = %+v", rest)
	}
}

// TestHashMatchesEventfold checks the hash against a line and cursor that
// eventfold-es itself wrote (the fixture's gamma stream).
func TestHashMatchesEventfold(t *testing.T) {
	fixture := "../../testdata/eventfold-es-0.2.0/counter-root/streams/counter/gamma/app.jsonl"
	data, err := os.ReadFile(fixture)
	if err != nil {
		t.Skip("fixture not available:", err)
	}
	f := writeFile(t, string(data))
	_, tail := collect(t, f, Tail{})
	if tail.Offset != 234 || tail.Hash != "08854f3260da89f7" || tail.Version != 2 {
		t.Errorf("tail = %+v, want offset 234 hash 08854f3260da89f7 (the fixture's snapshot)", tail)
	}
}

func TestScanTornTail(t *testing.T) {
	f := writeFile(t, line1+"\n"+`{"type":"B","da`)
	got, tail := collect(t, f, Tail{})
	if len(got) != 1 || tail.Torn != int64(len(`{"type":"B","da`)) || tail.Offset != int64(len(line1)+1) {
		t.Fatalf("entries %d, tail %+v", len(got), tail)
	}
}

func TestScanCorruptLine(t *testing.T) {
	f := writeFile(t, line1+"\n"+"not json\n"+line2+"\n")
	got, _ := collect(t, f, Tail{})
	if len(got) != 3 {
		t.Fatalf("got %d entries, want 3", len(got))
	}
	var ce *CorruptError
	if !errors.As(got[1].Err, &ce) || ce.Offset != int64(len(line1)+1) || !errors.Is(got[1].Err, ErrCorrupt) {
		t.Fatalf("entry 2 err = %v", got[1].Err)
	}
	if got[0].Err != nil || got[2].Err != nil {
		t.Errorf("good lines flagged: %v %v", got[0].Err, got[2].Err)
	}
}

func TestScanLongLine(t *testing.T) {
	big := `{"type":"Big","data":"` + string(make([]byte, 0)) + repeat('x', 3*scanBuf) + `"}`
	f := writeFile(t, line1+"\n"+big+"\n"+line2+"\n")
	got, tail := collect(t, f, Tail{})
	if len(got) != 3 || string(got[1].Line) != big || got[1].Err != nil {
		t.Fatalf("long line not read whole: %d entries", len(got))
	}
	if tail.Offset != int64(len(line1)+len(big)+len(line2)+3) {
		t.Errorf("tail offset %d", tail.Offset)
	}
}

func repeat(c byte, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return string(b)
}

func TestCheck(t *testing.T) {
	f := writeFile(t, line1+"\n"+line2+"\n")
	first := int64(len(line1) + 1)
	end := first + int64(len(line2)+1)
	at := func(off, start int64, hash string) (Tail, Check) {
		t.Helper()
		tl := Tail{Offset: off, Hash: hash, LastStart: start}
		c, err := f.Check(&tl)
		if err != nil {
			t.Fatal(err)
		}
		return tl, c
	}
	h1, h2 := record.Hash([]byte(line1)), record.Hash([]byte(line2))
	if tl, c := at(end, -1, h2); c != Same || tl.LastStart != first {
		t.Errorf("the last line: %v, tail %+v", c, tl)
	}
	if _, c := at(end, first, h2); c != Same {
		t.Errorf("the last line, start known: %v", c)
	}
	if tl, c := at(first, -1, h1); c != More || tl.LastStart != 0 {
		t.Errorf("the first line: %v, tail %+v", c, tl)
	}
	if _, c := at(end, -1, h1); c != Changed {
		t.Errorf("another line's hash: %v", c)
	}
	if _, c := at(end-3, -1, h2); c != Changed {
		t.Errorf("an offset inside a line: %v", c)
	}
	if _, c := at(end+10, -1, h2); c != Short {
		t.Errorf("an offset past the end: %v", c)
	}
	if _, c := at(end+10, first, h2); c != Short {
		t.Errorf("an offset past the end, start known: %v", c)
	}
	if _, c := at(0, 0, ""); c != More {
		t.Errorf("offset 0 of a log with lines: %v", c)
	}
	tl := Tail{Offset: end}
	if err := f.Count(&tl); err != nil || tl.Version != 2 {
		t.Errorf("count: %d, %v", tl.Version, err)
	}
	empty := writeFile(t, "")
	if c, err := empty.Check(&Tail{}); err != nil || c != Same {
		t.Errorf("offset 0 of an empty log: %v, %v", c, err)
	}
}

func TestCheckFindsLongLine(t *testing.T) {
	long := `{"type":"A","data":"` + repeat('x', 5000) + `"}`
	f := writeFile(t, line1+"\n"+long+"\n")
	tl := Tail{Offset: int64(len(line1) + len(long) + 2), Hash: record.Hash([]byte(long)), LastStart: -1}
	if c, err := f.Check(&tl); err != nil || c != Same || tl.LastStart != int64(len(line1)+1) {
		t.Errorf("check: %v, %v, tail %+v", c, err, tl)
	}
}

func TestAppendTruncateAndLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.jsonl")
	w, created, err := CreateAppend(vfs.OS, path)
	if err != nil || !created {
		t.Fatal(created, err)
	}
	defer w.Close()
	unlock, err := w.Lock(context.Background(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append([]byte(line1+"\n"), 0); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	// A second descriptor on the same file (another process, in effect)
	// cannot take the lock while it is held.
	other, err := OpenAppend(vfs.OS, path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	start := time.Now()
	if _, err := other.Lock(context.Background(), 100*time.Millisecond); !errors.Is(err, ErrLockTimeout) {
		t.Fatalf("second lock: %v, want ErrLockTimeout", err)
	}
	if time.Since(start) < 100*time.Millisecond {
		t.Error("lock gave up before its timeout")
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	unlock2, err := other.Lock(context.Background(), time.Second)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	defer unlock2()
	if err := other.Append([]byte(`{"type":"to`), int64(len(line1)+1)); err != nil {
		t.Fatal(err)
	}
	if err := other.Truncate(int64(len(line1) + 1)); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if string(data) != line1+"\n" {
		t.Errorf("file = %q", data)
	}
	if _, created, _ := CreateAppend(vfs.OS, path); created {
		t.Error("an existing log was reported as created")
	}
}

func TestScanToStopsAtLimit(t *testing.T) {
	f := writeFile(t, line1+"\n"+line2+"\n")
	n := 0
	end := int64(len(line1) + 5) // inside the second line
	tail, err := f.Scan(Tail{}, end, func(Entry) error { n++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || tail.Offset != int64(len(line1)+1) || tail.Torn != 4 {
		t.Errorf("entries %d, tail %+v", n, tail)
	}
}

// TestCloseTwice: a second Close, or an unlock after Close, must not reach
// a descriptor that another file has been given since.
func TestCloseTwice(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.jsonl")
	if err := os.WriteFile(path, []byte(line1+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := OpenReader(vfs.OS, path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := OpenAppend(vfs.OS, path)
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := w.Lock(context.Background(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	w.Close()
	other, err := os.Open(path) // likely given one of the numbers just freed
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	r.Close()
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Stat(); err != nil {
		t.Fatalf("another file's descriptor was closed: %v", err)
	}
	if _, err := w.Lock(context.Background(), time.Second); err == nil {
		t.Error("Lock on a closed log succeeded")
	}
}

// TestCheckAgreesWithScan: for logs of random lines (some long, some
// torn at the end) and every offset in them, Check says what a scan from
// the start says: a position is Same or More exactly where a line ends
// with that hash, Short past the end, Changed elsewhere; whether the line's
// start is known or not, and it finds that start.
func TestCheckAgreesWithScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for round := range 40 {
		var b strings.Builder
		for i := range rng.IntN(6) {
			n := rng.IntN(40)
			if rng.IntN(5) == 0 {
				n += rng.IntN(5000) // past the first read-back
			}
			fmt.Fprintf(&b, `{"type":"E%d","data":"%s"}`+"\n", i, strings.Repeat("x", n))
		}
		if rng.IntN(3) == 0 {
			b.WriteString(`{"type":"torn`)
		}
		content := b.String()
		f := writeFile(t, content)
		ends := map[int64]Entry{}
		if _, err := f.Scan(Tail{}, -1, func(e Entry) error {
			e.Line = nil
			ends[e.End] = e
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		size := int64(len(content))
		for off := int64(1); off <= size+2; off++ {
			e, isEnd := ends[off]
			hash := "0000000000000000"
			if isEnd {
				hash = e.Hash
			}
			for _, start := range []int64{-1, e.Start} {
				if !isEnd && start >= 0 {
					continue
				}
				tl := Tail{Offset: off, Hash: hash, LastStart: start}
				c, err := f.Check(&tl)
				if err != nil {
					t.Fatal(err)
				}
				var want Check
				switch {
				case off > size:
					want = Short
				case !isEnd:
					want = Changed
				case off == size:
					want = Same
				default:
					want = More
				}
				if c != want {
					t.Fatalf("round %d, offset %d of %d, start %d: Check = %d; want %d", round, off, size, start, c, want)
				}
				if isEnd && tl.LastStart != e.Start {
					t.Fatalf("round %d, offset %d: LastStart = %d; want %d", round, off, tl.LastStart, e.Start)
				}
				if isEnd {
					other := Tail{Offset: off, Hash: "0000000000000000", LastStart: start}
					if c, err := f.Check(&other); err != nil || c != Changed {
						t.Fatalf("round %d, offset %d, another hash: Check = %d, %v; want Changed", round, off, c, err)
					}
				}
			}
		}
	}
}
