package app

import (
	"bytes"
	"errors"
	"log/slog"
	"sync"
	"testing"

	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/watch"
)

func newTestReporter(asJSON bool, level slog.Level) (*Reporter, *bytes.Buffer) {
	var b bytes.Buffer
	return NewReporter("prog", asJSON, &b, slog.New(newTextHandler(&b, "prog", level))), &b
}

func TestReportText(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    Failure
		want string
	}{
		{"a line of stdin", Failure{Line: 7, Message: "bad", Counts: true}, "prog: error: line 7: bad\n"},
		{"a line of a file", Failure{Line: 7, File: "cmds.jsonl", Message: "bad", Counts: true}, "prog: error: cmds.jsonl:7: bad\n"},
		{"not from input", Failure{Message: "bad", Counts: true}, "prog: error: bad\n"},
		{"a note is info, not an error", Failure{Line: 2, Message: `command_id "c" already recorded`, Note: true}, "prog: note: line 2: command_id \"c\" already recorded: skipped\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, b := newTestReporter(false, slog.LevelInfo)
			r.Report(tc.f)
			if b.String() != tc.want {
				t.Errorf("got %q, want %q", b.String(), tc.want)
			}
		})
	}
	// At the default level, a note says nothing.
	r, b := newTestReporter(false, slog.LevelWarn)
	r.Report(Failure{Line: 2, Message: "dup", Note: true})
	if b.Len() != 0 || r.Status() != ExitOK {
		t.Errorf("a note at warn level: %q, status %d", b.String(), r.Status())
	}
}

// In JSON every failure is an error record, notes too: a machine wants
// them all.
func TestReportJSON(t *testing.T) {
	r, b := newTestReporter(true, slog.LevelWarn)
	r.Report(Failure{Line: 3, File: "in.jsonl", Kind: "rejected", Message: "no", Input: []byte(`{"a":1}`), Counts: true})
	r.Report(Failure{Line: 4, Kind: "invalid_input", Message: "malformed", Input: []byte(`nope`), Counts: true})
	r.Report(Failure{Line: 5, Kind: "duplicate", Message: "dup", Input: []byte(`{}`), Note: true})
	want := `{"kind":"rejected","message":"no","line":3,"file":"in.jsonl","input":{"a":1}}` + "\n" +
		`{"kind":"invalid_input","message":"malformed","line":4,"input":"nope"}` + "\n" +
		`{"kind":"duplicate","message":"dup","line":5,"input":{}}` + "\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestReportStatus(t *testing.T) {
	for _, tc := range []struct {
		name     string
		failures []Failure
		want     int
	}{
		{"nothing", nil, ExitOK},
		{"not counted", []Failure{{Message: "kept in --rejects"}, {Message: "dup", Note: true}}, ExitOK},
		{"retryable only", []Failure{{Retryable: true, Counts: true}}, ExitRetryable},
		{"retryable and not", []Failure{{Retryable: true, Counts: true}, {Counts: true}}, ExitFailed},
		{"fatal over all", []Failure{{Counts: true}, {Fatal: true}}, ExitFatal},
	} {
		r, _ := newTestReporter(false, slog.LevelWarn)
		for _, f := range tc.failures {
			r.Report(f)
		}
		if got := r.Status(); got != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestReportConcurrent(t *testing.T) {
	r, b := newTestReporter(false, slog.LevelWarn)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				r.Report(Failure{Line: 1, Message: "m", Counts: true})
			}
		})
	}
	wg.Wait()
	if n := bytes.Count(b.Bytes(), []byte("prog: error: line 1: m\n")); n != 400 || r.Status() != ExitFailed {
		t.Errorf("%d whole lines of 400, status %d", n, r.Status())
	}
}

func TestBadLineAndCorrupt(t *testing.T) {
	r, b := newTestReporter(false, slog.LevelWarn)
	r.BadLine(watch.BadLine{Line: 4, Err: errors.New("not a record"), Input: []byte("x")})
	if err := r.Corrupt(&eventlog.CorruptError{Path: "app.jsonl", Offset: 51, Reason: "not valid JSON", Excerpt: `"garbage"`}); err != nil {
		t.Errorf("Corrupt stops the reader: %v", err)
	}
	want := "prog: error: line 4: not a record\nprog: error: app.jsonl: bad line at byte 51: not valid JSON: \"garbage\" (skipped)\n"
	if b.String() != want || r.Status() != ExitFailed {
		t.Errorf("got:\n%s\nwant:\n%s(status %d)", b.String(), want, r.Status())
	}
}
