package jetstream_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
	"github.com/fold-es/fold/lib/store/jetstream/natstest"
)

// ReadOrdered gives the lines of all streams in the order they were
// appended, each with the positions a Scan of its own stream gives, a
// line longer than a message put back together; it reports being caught
// up, and with follow delivers what comes later, from the selected
// streams only.
func TestReadOrdered(t *testing.T) {
	srv := natstest.Start(t, "max_payload: 4KB")
	s := open(t, srv, "ord")
	a, b := record.StreamID{Type: "t", ID: "a"}, record.StreamID{Type: "u", ID: "b"}
	ws := map[record.StreamID]store.Writer{}
	ends := map[record.StreamID]int64{}
	var want []string
	appendTo := func(id record.StreamID, lines ...string) {
		t.Helper()
		if ws[id] == nil {
			w, _, err := s.OpenWriter(id, true)
			if err != nil {
				t.Fatal(err)
			}
			ws[id] = w
		}
		data := strings.Join(lines, "\n") + "\n"
		if err := appendAt(t, ws[id], data, ends[id]); err != nil {
			t.Fatal(err)
		}
		ends[id] += int64(len(data))
		for _, l := range lines {
			want = append(want, id.String()+" "+l)
		}
	}
	long := `{"type":"Long","data":"` + strings.Repeat("z", 9000) + `","ts":1}`
	appendTo(a, line1)
	appendTo(b, line1, line2)
	appendTo(a, line2, long)
	appendTo(b, line1)

	var got []string
	entries := map[record.StreamID][]eventlog.Entry{}
	caught := 0
	err := s.ReadOrdered(t.Context(), store.Select(nil, nil), false, func(id record.StreamID, e eventlog.Entry) error {
		got = append(got, id.String()+" "+string(e.Line))
		e.Line = nil
		entries[id] = append(entries[id], e)
		return nil
	}, func() error { caught++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") || caught != 1 {
		t.Fatalf("ReadOrdered = %d lines, caught up %d times; want %d lines in append order, once", len(got), caught, len(want))
	}
	for id := range ws {
		l, _ := s.OpenLog(id)
		var scanned []eventlog.Entry
		if _, err := l.Scan(eventlog.Tail{}, -1, func(e eventlog.Entry) error {
			e.Line = nil
			scanned = append(scanned, e)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(scanned) != fmt.Sprint(entries[id]) {
			t.Errorf("%s: in order %v; scanned %v", id, entries[id], scanned)
		}
	}

	// Follow, of stream b only.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	lines := make(chan string, 16)
	done := make(chan error, 1)
	go func() {
		done <- s.ReadOrdered(ctx, store.Select(nil, []record.StreamID{b}), true, func(id record.StreamID, e eventlog.Entry) error {
			lines <- fmt.Sprintf("%s %d", id, e.Version)
			return nil
		}, func() error { lines <- "idle"; return nil })
	}()
	for _, w := range []string{"u/b 1", "u/b 2", "u/b 3", "idle"} {
		if g := <-lines; g != w {
			t.Fatalf("follow: %q; want %q", g, w)
		}
	}
	appendTo(a, line1)
	appendTo(b, line2)
	for _, w := range []string{"u/b 4", "idle"} {
		select {
		case g := <-lines:
			if g != w {
				t.Fatalf("follow after appends: %q; want %q", g, w)
			}
		case <-ctx.Done():
			t.Fatalf("follow: nothing after appending; want %q", w)
		}
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("ReadOrdered after cancel = %v", err)
	}
}
