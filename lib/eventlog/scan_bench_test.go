package eventlog_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/vfs"
)

// benchLog writes a log of n counter events and returns it opened.
func benchLog(b *testing.B, n int) (*eventlog.Reader, int64) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "app.jsonl")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := range n {
		fmt.Fprintf(w, `{"type":"Incremented","data":null,"ts":1764446400,"id":"5f0c8a9e-6b1d-4c3e-9a7f-%012d"}`+"\n", i)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	st, _ := f.Stat()
	f.Close()
	lf, err := eventlog.OpenReader(vfs.OS, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { lf.Close() })
	return lf, st.Size()
}

// BenchmarkScan is replay's read path: every line of a 100,000-event log
// hashed and checked. Per op is one whole log; see lines/s.
func BenchmarkScan(b *testing.B) {
	const n = 100000
	f, size := benchLog(b, n)
	b.ReportAllocs()
	b.SetBytes(size)
	for b.Loop() {
		t, err := f.Scan(eventlog.Tail{}, -1, func(e eventlog.Entry) error { return e.Err })
		if err != nil || t.Version != n {
			b.Fatalf("scan: %v, version %d", err, t.Version)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkCheck is how a snapshot or cursor is checked against its log
// when a stream is opened: the line's start is not known yet.
func BenchmarkCheck(b *testing.B) {
	f, size := benchLog(b, 1000)
	var hash string
	if _, err := f.Scan(eventlog.Tail{}, -1, func(e eventlog.Entry) error { hash = e.Hash; return nil }); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		t := eventlog.Tail{Offset: size, Hash: hash, LastStart: -1}
		if c, err := f.Check(&t); err != nil || c != eventlog.Same {
			b.Fatalf("check: %v %v", c, err)
		}
	}
}

// BenchmarkAppend is one command's write (no sync): lock, append,
// unlock, on a descriptor kept open.
func BenchmarkAppend(b *testing.B) {
	path := filepath.Join(b.TempDir(), "app.jsonl")
	w, _, err := eventlog.CreateAppend(vfs.OS, path)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	line := []byte(`{"type":"Incremented","data":null,"ts":1764446400,"id":"5f0c8a9e-6b1d-4c3e-9a7f-2d4b6e8f0a1c"}` + "\n")
	var size int64
	b.ReportAllocs()
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		unlock, err := w.Lock(b.Context(), 0)
		if err != nil {
			b.Fatal(err)
		}
		if err := w.Append(line, size); err != nil {
			b.Fatal(err)
		}
		size += int64(len(line))
		if err := unlock(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenCheckClose is what a catch-up over many streams with
// nothing new spends per stream: open the log, check the cursor, close.
func BenchmarkOpenCheckClose(b *testing.B) {
	f, size := benchLog(b, 10)
	var hash string
	var last int64
	if _, err := f.Scan(eventlog.Tail{}, -1, func(e eventlog.Entry) error { hash, last = e.Hash, e.Start; return nil }); err != nil {
		b.Fatal(err)
	}
	path := f.Name()
	b.ReportAllocs()
	for b.Loop() {
		r, err := eventlog.OpenReader(vfs.OS, path)
		if err != nil {
			b.Fatal(err)
		}
		t := eventlog.Tail{Offset: size, Hash: hash, LastStart: last}
		if c, err := r.Check(&t); err != nil || c != eventlog.Same {
			b.Fatalf("check: %v %v", c, err)
		}
		if err := r.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
