package watch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/fold-es/fold/lib/record"
)

func TestLinesParsesRecordsAndNamesBadLines(t *testing.T) {
	good := string(record.AppendRecord(nil, lineRec("a", 1, "null")))
	input := strings.Join([]string{
		good,
		"",
		"   ",
		`{"aggregate_type":"order"`,
		`{"aggregate_type":"order","instance_id":"../x","version":1,"offset":10,"hash":"h","event":{"type":"X"}}`,
		`{"aggregate_type":"order","instance_id":"b","version":1,"hash":"h","event":{"type":"X"}}`,
		string(record.AppendRecord(nil, lineRec("a", 2, `{"k":"v"}`))),
	}, "\n")
	var bad []string
	var got []record.Record
	feed := Lines(strings.NewReader(input), 0, 0, func(b BadLine) {
		bad = append(bad, fmt.Sprintf("%d: %v", b.Line, b.Err))
	})
	err := feed(context.Background(), nil, func(b Batch) error {
		for _, r := range b.Records {
			r.Event = append(record.RawMessage(nil), r.Event...)
			got = append(got, r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Version != 1 || got[1].Version != 2 || string(got[1].Event) != `{"type":"Happened","data":{"k":"v"},"ts":1}` {
		t.Errorf("records: %+v", got)
	}
	want := []string{"4: malformed JSON", `5: instance_id "../x" is not a single path segment`, "6: record has no offset"}
	if len(bad) != len(want) {
		t.Fatalf("bad lines: %q", bad)
	}
	for i, w := range want {
		if !strings.HasPrefix(bad[i], w) {
			t.Errorf("bad line %q, want %q…", bad[i], w)
		}
	}
}

func TestLinesBatchesWhatIsWaiting(t *testing.T) {
	pr, pw := io.Pipe()
	feed := Lines(pr, 2, 0, nil)
	line := func(v uint64) string { return string(record.AppendRecord(nil, lineRec("a", v, "null"))) + "\n" }
	var sizes []int
	done := make(chan error, 1)
	next := make(chan struct{})
	go func() {
		done <- feed(context.Background(), nil, func(b Batch) error {
			sizes = append(sizes, len(b.Records))
			next <- struct{}{}
			return nil
		})
	}()
	// One line, alone: delivered without waiting for more.
	io.WriteString(pw, line(1))
	<-next
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(sizes) != 1 || sizes[0] != 1 {
		t.Errorf("batches %v", sizes)
	}
}

func TestLinesStopsWithTheContext(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Lines(pr, 0, 0, nil)(ctx, nil, func(Batch) error { return nil })
	if err != context.Canceled {
		t.Errorf("err = %v", err)
	}
}

// lineRec is a record of stream order/id at version v; data is its event's data.
func lineRec(id string, v uint64, data string) record.Record {
	return record.Record{AggregateType: "order", InstanceID: id, Version: v, Offset: int64(v) * 100, Hash: fmt.Sprintf("h%d", v),
		Event: record.RawMessage(`{"type":"Happened","data":` + data + `,"ts":1}`)}
}

// TestLinesRecordsOwnTheirBytes: a record's event bytes are its own, not
// the line reader's buffer, which has moved on to later lines by the time
// a batch is delivered.
func TestLinesRecordsOwnTheirBytes(t *testing.T) {
	var b strings.Builder
	const n = 500
	for i := 1; i <= n; i++ {
		b.Write(record.AppendRecord(nil, lineRec("a", uint64(i), fmt.Sprint(i))))
		b.WriteByte('\n')
	}
	var got []record.Record
	err := Lines(strings.NewReader(b.String()), n, 0, func(BadLine) {})(context.Background(), nil, func(bt Batch) error {
		for _, r := range bt.Records {
			r.Event = append(record.RawMessage(nil), r.Event...)
			got = append(got, r)
		}
		return nil
	})
	if err != nil || len(got) != n {
		t.Fatalf("%d records, %v", len(got), err)
	}
	for i, r := range got {
		if want := fmt.Sprintf(`{"type":"Happened","data":%d,"ts":1}`, i+1); string(r.Event) != want {
			t.Fatalf("record %d: event %s; want %s", i+1, r.Event, want)
		}
	}
}

// TestLinesBoundsBytes: batches stop at about DefaultMaxBatchBytes of
// events, and a line over maxLine is a bad line naming its length and the
// limit, the lines after it still read.
func TestLinesBoundsBytes(t *testing.T) {
	var b strings.Builder
	big := `"` + strings.Repeat("x", 1500<<10) + `"`
	const n = 8
	for i := 1; i <= n; i++ {
		data := big
		if i == 3 {
			data = `"` + strings.Repeat("y", 3<<20) + `"`
		}
		b.Write(record.AppendRecord(nil, lineRec("a", uint64(i), data)))
		b.WriteByte('\n')
	}
	var bad []BadLine
	var sizes []int
	got := 0
	err := Lines(strings.NewReader(b.String()), 0, record.MaxLine(2<<20), func(l BadLine) { bad = append(bad, l) })(context.Background(), nil, func(bt Batch) error {
		size := 0
		for _, r := range bt.Records {
			size += len(r.Event)
		}
		sizes = append(sizes, size)
		got += len(bt.Records)
		return nil
	})
	if err != nil || got != n-1 {
		t.Fatalf("%d records, %v", got, err)
	}
	for _, s := range sizes {
		if s >= DefaultMaxBatchBytes+1600<<10 {
			t.Errorf("a batch of %d event bytes; want under %d and one event", s, DefaultMaxBatchBytes)
		}
	}
	var tl *record.TooLongError
	if len(bad) != 1 || bad[0].Line != 3 || !errors.As(bad[0].Err, &tl) || tl.Limit != record.MaxLine(2<<20) || len(bad[0].Input) > 64 {
		t.Errorf("bad lines: %+v", bad)
	}
}
