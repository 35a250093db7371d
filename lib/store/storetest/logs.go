package storetest

import (
	"errors"
	"strings"
	"testing"

	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// threeLines makes a stream holding line1 (one append) then line2 and
// line3 (one append of two lines), and returns its entries as a reader
// scans them.
func threeLines(t *testing.T, s store.Store) (store.Writer, store.Log, []eventlog.Entry, eventlog.Tail) {
	t.Helper()
	w := create(t, s, account)
	write(t, w, lines(line1), true)
	write(t, w, lines(line2, line3), true)
	l := openLog(t, s, account)
	got, tail := scanAll(t, l, eventlog.Tail{}, -1)
	wantEntries(t, got, 0, 1, line1, line2, line3)
	return w, l, got, tail
}

// testAppendScan: appended lines read back with the SPEC's offsets,
// versions and hashes, from the start, from a position, up to a limit, and
// through a log opened before they were appended.
func testAppendScan(t *testing.T, s store.Store) {
	w, l, got, tail := threeLines(t, s)
	want := eventlog.Tail{Offset: got[2].End, Hash: got[2].Hash, LastStart: got[2].Start, Version: 3}
	if tail != want {
		t.Errorf("tail after a full scan = %+v; want %+v", tail, want)
	}
	if n := int64(len(lines(line1, line2, line3))); tail.Offset != n {
		t.Errorf("tail offset %d; the log holds %d bytes", tail.Offset, n)
	}
	// The writer reads what it appended, as a reader does.
	wgot, wtail := scanAll(t, w, eventlog.Tail{}, -1)
	wantEntries(t, wgot, 0, 1, line1, line2, line3)
	if wtail != tail {
		t.Errorf("writer's tail %+v; reader's %+v", wtail, tail)
	}

	// Up to the end of the first line: that line, nothing torn.
	first, t1 := scanAll(t, l, eventlog.Tail{}, got[0].End)
	wantEntries(t, first, 0, 1, line1)
	if want := (eventlog.Tail{Offset: got[0].End, Hash: got[0].Hash, LastStart: 0, Version: 1}); t1 != want {
		t.Errorf("tail of a scan limited to %d = %+v; want %+v", got[0].End, t1, want)
	}
	// From there: only the later lines, numbered on.
	rest, t2 := scanAll(t, l, t1, -1)
	wantEntries(t, rest, got[1].Start, 2, line2, line3)
	if t2 != tail {
		t.Errorf("tail of a scan resumed at %d = %+v; want %+v", t1.Offset, t2, tail)
	}
	// A limit inside a line stops before it; the bytes up to the limit
	// count as torn.
	part, tp := scanAll(t, l, eventlog.Tail{}, got[1].Start+5)
	wantEntries(t, part, 0, 1, line1)
	if tp.Offset != got[0].End || tp.Version != 1 || tp.Hash != got[0].Hash || tp.Torn != 5 {
		t.Errorf("tail of a scan limited to %d = %+v; want offset %d, version 1, torn 5", got[1].Start+5, tp, got[0].End)
	}
	// From the end: nothing, and the position is kept.
	none, tn := scanAll(t, l, tail, -1)
	if len(none) != 0 || tn != tail {
		t.Errorf("scan from the end = %s, tail %+v; want nothing, tail %+v", describe(none), tn, tail)
	}

	// A log opened earlier sees lines appended since.
	const line4 = `{"type":"Reopened","data":null,"ts":1764446403}`
	write(t, w, lines(line4), true)
	more, t4 := scanAll(t, l, tail, -1)
	wantEntries(t, more, tail.Offset, 4, line4)
	if t4.Version != 4 || t4.Offset != tail.Offset+int64(len(line4))+1 {
		t.Errorf("tail after the fourth line = %+v", t4)
	}
	if end, err := l.Durable(); err != nil || end != t4.Offset {
		t.Errorf("Durable = %d, %v; want the log's end %d", end, err, t4.Offset)
	}
}

// testScanStops: Scan stops at fn's first error and returns it.
func testScanStops(t *testing.T, s store.Store) {
	_, l, _, _ := threeLines(t, s)
	stop := errors.New("enough")
	calls := 0
	_, err := l.Scan(eventlog.Tail{}, -1, func(e eventlog.Entry) error {
		calls++
		if e.Version == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 2 {
		t.Errorf("Scan with fn failing on line 2 = %v after %d calls; want fn's error after 2", err, calls)
	}
}

// testCheck: a position is Same at the end, More before it, Changed when
// no line or another line ends there, Short past the end; an unknown
// line start is filled in.
func testCheck(t *testing.T, s store.Store) {
	w := create(t, s, account)
	l := openLog(t, s, account)
	for _, lg := range []store.Log{l, w} {
		for _, zero := range []eventlog.Tail{{}, {LastStart: -1}} {
			if c, err := lg.Check(&zero); c != eventlog.Same || err != nil {
				t.Errorf("Check(%+v) of an empty log = %v, %v; want Same", zero, c, err)
			}
		}
	}
	write(t, w, lines(line1), true)
	write(t, w, lines(line2, line3), true)
	got, tail := scanAll(t, l, eventlog.Tail{}, -1)
	wantEntries(t, got, 0, 1, line1, line2, line3)

	wrong := record.Hash([]byte(line1 + " "))
	cases := []struct {
		name  string
		pos   eventlog.Tail
		want  eventlog.Check
		start int64 // LastStart after a Check that finds the line; -1 when it need not
	}{
		{"zero position", eventlog.Tail{}, eventlog.More, -1},
		{"the end", tail, eventlog.Same, tail.LastStart},
		{"the end, start unknown", tailAt(got[2]), eventlog.Same, got[2].Start},
		{"the first line", eventlog.Tail{Offset: got[0].End, Hash: got[0].Hash, Version: 1}, eventlog.More, 0},
		{"the first line, start unknown", tailAt(got[0]), eventlog.More, 0},
		{"the second line, start unknown", tailAt(got[1]), eventlog.More, got[1].Start},
		{"wrong hash", eventlog.Tail{Offset: got[1].End, Hash: wrong, LastStart: got[1].Start}, eventlog.Changed, -1},
		{"wrong hash, start unknown", eventlog.Tail{Offset: got[1].End, Hash: wrong, LastStart: -1}, eventlog.Changed, -1},
		{"empty hash at a line", eventlog.Tail{Offset: got[0].End, LastStart: -1}, eventlog.Changed, -1},
		{"inside a line", eventlog.Tail{Offset: got[1].Start + 3, Hash: got[1].Hash, LastStart: got[1].Start}, eventlog.Changed, -1},
		{"inside a line, start unknown", eventlog.Tail{Offset: got[1].Start + 3, Hash: got[1].Hash, LastStart: -1}, eventlog.Changed, -1},
		{"the end of the line before", eventlog.Tail{Offset: got[1].End - 1, Hash: got[1].Hash, LastStart: -1}, eventlog.Changed, -1},
		{"past the end", eventlog.Tail{Offset: tail.Offset + 10, Hash: tail.Hash, LastStart: got[2].Start}, eventlog.Short, -1},
		{"past the end, start unknown", eventlog.Tail{Offset: tail.Offset + 10, Hash: tail.Hash, LastStart: -1}, eventlog.Short, -1},
	}
	for _, lg := range []store.Log{l, w} {
		for _, tc := range cases {
			pos := tc.pos
			c, err := lg.Check(&pos)
			if err != nil || c != tc.want {
				t.Errorf("%s: Check(%+v) = %v, %v; want %v", tc.name, tc.pos, c, err, tc.want)
				continue
			}
			if tc.start >= 0 && pos.LastStart != tc.start {
				t.Errorf("%s: Check left LastStart %d; want %d", tc.name, pos.LastStart, tc.start)
			}
			if pos.Offset != tc.pos.Offset || pos.Hash != tc.pos.Hash || pos.Version != tc.pos.Version {
				t.Errorf("%s: Check changed the position to %+v", tc.name, pos)
			}
		}
	}
}

// testCheckLongLine: a position after a line longer than any small read
// is still checked and its start found.
func testCheckLongLine(t *testing.T, s store.Store) {
	long := `{"type":"Big","data":"` + strings.Repeat("x", 20000) + `","ts":1}`
	w := create(t, s, account)
	write(t, w, lines(line1, long), true)
	l := openLog(t, s, account)
	got, _ := scanAll(t, l, eventlog.Tail{}, -1)
	wantEntries(t, got, 0, 1, line1, long)
	pos := tailAt(got[1])
	if c, err := l.Check(&pos); c != eventlog.Same || err != nil || pos.LastStart != got[1].Start {
		t.Errorf("Check after a %d-byte line = %v, %v, LastStart %d; want Same, LastStart %d", len(long), c, err, pos.LastStart, got[1].Start)
	}
	mid := eventlog.Tail{Offset: got[1].Start + 10000, Hash: got[1].Hash, LastStart: -1}
	if c, err := l.Check(&mid); c != eventlog.Changed || err != nil {
		t.Errorf("Check inside a %d-byte line = %v, %v; want Changed", len(long), c, err)
	}
}

// testCount: Count numbers the lines before a position, whatever Version
// the position held.
func testCount(t *testing.T, s store.Store) {
	_, l, got, _ := threeLines(t, s)
	for _, pos := range []eventlog.Tail{{Version: 99}, {Offset: got[0].End}, {Offset: got[1].End, Version: 7}, {Offset: got[2].End}} {
		want := uint64(0)
		for _, e := range got {
			if e.End <= pos.Offset {
				want = e.Version
			}
		}
		p := pos
		if err := l.Count(&p); err != nil || p.Version != want {
			t.Errorf("Count(offset %d) = version %d, %v; want %d", pos.Offset, p.Version, err, want)
		}
	}
}

// testTornTail: a partial last line is not delivered but counted as torn,
// Truncate cuts it, and the next line starts where it was; Truncate also
// cuts complete lines, and a position past the cut is then Short.
func testTornTail(t *testing.T, s store.Store) {
	w := create(t, s, account)
	_, end1 := write(t, w, lines(line1), true)
	const partial = `{"type":"Deposited","da`
	write(t, w, partial, true)
	l := openLog(t, s, account)
	got, tail := scanAll(t, l, eventlog.Tail{}, -1)
	wantEntries(t, got, 0, 1, line1)
	if tail.Offset != end1 || tail.Torn != int64(len(partial)) {
		t.Fatalf("tail with a torn line = %+v; want offset %d, torn %d", tail, end1, len(partial))
	}
	// From the last complete line, the torn bytes are all there is.
	if more, tt := scanAll(t, l, tail, -1); len(more) != 0 || tt.Torn != int64(len(partial)) || tt.Offset != end1 {
		t.Errorf("scan from %d = %s, tail %+v; want nothing, torn %d", end1, describe(more), tt, len(partial))
	}

	truncate(t, w, end1)
	got, tail = scanAll(t, l, eventlog.Tail{}, -1)
	wantEntries(t, got, 0, 1, line1)
	if tail.Offset != end1 || tail.Torn != 0 {
		t.Errorf("tail after Truncate(%d) = %+v; want offset %d, nothing torn", end1, tail, end1)
	}
	if c, err := l.Check(&tail); c != eventlog.Same || err != nil {
		t.Errorf("Check at the end after the repair = %v, %v; want Same", c, err)
	}
	start2, _ := write(t, w, lines(line2), true)
	if start2 != end1 {
		t.Errorf("the line after the repair starts at %d; want %d", start2, end1)
	}
	got, tail2 := scanAll(t, l, eventlog.Tail{}, -1)
	wantEntries(t, got, 0, 1, line1, line2)

	// Cutting a complete line: its position is now past the end.
	truncate(t, w, end1)
	if c, err := l.Check(&tail2); c != eventlog.Short || err != nil {
		t.Errorf("Check(%+v) after cutting the log to %d = %v, %v; want Short", tail2, end1, c, err)
	}
	if end, err := l.Durable(); err != nil || end != end1 {
		t.Errorf("Durable after cutting the log to %d = %d, %v", end1, end, err)
	}
}

func truncate(t *testing.T, w store.Writer, end int64) {
	t.Helper()
	unlock, err := w.Lock(t.Context(), lockWait)
	if err != nil {
		t.Fatalf("Lock = %v", err)
	}
	if err := w.Truncate(end); err != nil {
		_ = unlock()
		t.Fatalf("Truncate(%d) = %v", end, err)
	}
	if err := w.Sync(); err != nil {
		_ = unlock()
		t.Fatalf("Sync = %v", err)
	}
	if err := unlock(); err != nil {
		t.Fatalf("unlock = %v", err)
	}
}

// testCorruptLines: complete lines that are not events come through Scan
// in their place, with Err a *eventlog.CorruptError naming where they
// start; the lines around them are unaffected.
func testCorruptLines(t *testing.T, s store.Store) {
	bad := []string{"not json", "", "   ", `{"data":null,"ts":1}`, `[1,2]`, `{"type":"A","data":`}
	all := append(append([]string{line1}, bad...), line2)
	w := create(t, s, account)
	// Raw bytes, in one append, as a foreign or broken writer might leave.
	write(t, w, lines(all...), true)
	l := openLog(t, s, account)
	got, tail := scanAll(t, l, eventlog.Tail{}, -1)
	if len(got) != len(all) {
		t.Fatalf("scan returned %d entries, want %d: %s", len(got), len(all), describe(got))
	}
	start := int64(0)
	for i, e := range got {
		end := start + int64(len(all[i])) + 1
		if string(e.Line) != all[i] || e.Start != start || e.End != end || e.Version != uint64(i+1) || e.Hash != record.Hash([]byte(all[i])) {
			t.Errorf("entry %d = %s; want line %q at %d..%d, version %d", i, describe(got[i:i+1]), all[i], start, end, i+1)
		}
		start = end
		if i == 0 || i == len(all)-1 {
			if e.Err != nil {
				t.Errorf("entry %d (an event): Err = %v", i, e.Err)
			}
			continue
		}
		var ce *eventlog.CorruptError
		if !errors.As(e.Err, &ce) || !errors.Is(e.Err, eventlog.ErrCorrupt) {
			t.Errorf("entry %d %q: Err = %v; want a *eventlog.CorruptError", i, all[i], e.Err)
			continue
		}
		if ce.Offset != e.Start {
			t.Errorf("entry %d %q: CorruptError offset %d; the line starts at %d", i, all[i], ce.Offset, e.Start)
		}
	}
	if tail.Offset != start || tail.Version != uint64(len(all)) || tail.Torn != 0 {
		t.Errorf("tail = %+v; want offset %d, version %d", tail, start, len(all))
	}
}
