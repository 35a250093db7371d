package exec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
	"github.com/fold-es/fold/lib/store/memstore"
)

// refusingStore is a store whose appends fail when they hold an Added
// event: a disk that fills up at one command.
type refusingStore struct{ store.Store }

func (s refusingStore) OpenWriter(id record.StreamID, create bool) (store.Writer, bool, error) {
	w, created, err := s.Store.OpenWriter(id, create)
	if err != nil {
		return nil, false, err
	}
	return refusingWriter{w}, created, nil
}

type refusingWriter struct{ store.Writer }

var errDiskFull = errors.New("no space left on device")

func (w refusingWriter) Append(lines []byte, end int64) error {
	if bytes.Contains(lines, []byte(`"Added"`)) {
		return errDiskFull
	}
	return w.Writer.Append(lines, end)
}

// TestSyncEachFailedAppend: with --sync each, a command whose write fails
// is reported with the cause, and nothing of it or of the commands not
// tried after it reaches the log; what is reported done is in the log, in
// order.
func TestSyncEachFailedAppend(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	for round := range 10 {
		st := refusingStore{memstore.New(fmt.Sprint(round))}
		e := New(Config{Store: st, Routes: fx.pools, Sync: SyncEach, LockTimeout: 5e9, Jobs: 2})
		if r := e.Submit(ctx, cmd("a", `{"type":"Increment"}`)).Wait(); r.Failure != nil {
			t.Fatal(r.Failure)
		}
		// Submitted together, so that they are mostly decided as one batch.
		var ps []*Pending
		for i := range 12 {
			body := `{"type":"Twice"}`
			if i == 5 {
				body = `{"type":"Add","n":7}`
			}
			ps = append(ps, e.Submit(ctx, cmd("a", body)))
		}
		var done []record.Record
		for i, p := range ps {
			r := p.Wait()
			switch {
			case i == 5 && (r.Failure == nil || !errors.Is(r.Failure, errDiskFull)):
				t.Fatalf("round %d: the refused command: %+v; want its append's error", round, r)
			case r.Failure == nil:
				done = append(done, r.Records...)
			case r.Failure.Kind != KindIO:
				t.Fatalf("round %d, command %d: %v", round, i, r.Failure)
			}
		}
		e.Close()
		lg, err := st.OpenLog(record.StreamID{Type: "counter", ID: "a"})
		if err != nil {
			t.Fatal(err)
		}
		var lines []eventlog.Entry
		if _, err := lg.Scan(eventlog.Tail{}, -1, func(en eventlog.Entry) error {
			en.Line = bytes.Clone(en.Line)
			lines = append(lines, en)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(lines) != 1+len(done) {
			t.Fatalf("round %d: the log has %d events; 1 + %d reported done", round, len(lines), len(done))
		}
		for i, rec := range done {
			if en := lines[i+1]; rec.Version != en.Version || !bytes.Equal(rec.Event, en.Line) {
				t.Fatalf("round %d: record %d (version %d) is not the log's line %d", round, i, rec.Version, en.Version)
			}
		}
	}
}
