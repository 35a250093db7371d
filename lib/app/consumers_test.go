package app

import (
	"bytes"
	"testing"
	"time"

	"github.com/fold-es/fold/lib/consumer"
)

// The table fold-watch consumers draws on a terminal: one aligned row per
// consumer, its outcome saying what calls for attention.
func TestConsumersTable(t *testing.T) {
	ended := time.Date(2025, 11, 29, 20, 0, 0, 0, time.Local).Unix()
	list := []consumer.Status{
		{Kind: consumer.Projection, Name: "totals", Behind: 3, LastRun: &consumer.RunNote{Ended: ended, Outcome: "ok"}, Stale: `file "t.jq" changed`},
		{Kind: consumer.ProcessManager, Name: "fulfil", Pending: 2, DeadLetters: 1, LastRun: &consumer.RunNote{Ended: ended, Outcome: "failed"}, Rewritten: 1},
		{Kind: consumer.Watch, Name: "mail", Error: "checkpoint not readable"},
	}
	var b bytes.Buffer
	if err := table(&b, list); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"KIND             NAME    BEHIND  PENDING  DEAD LETTERS  LAST RUN             OUTCOME\n" +
		"projection       totals  3       0        0             2025-11-29 20:00:00  ok; handler changed since the last rebuild: file \"t.jq\" changed\n" +
		"process_manager  fulfil  0       2        1             2025-11-29 20:00:00  failed; 1 stream(s) rewritten: rebuild\n" +
		"consumer         mail    0       0        0             never                error: checkpoint not readable\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}
