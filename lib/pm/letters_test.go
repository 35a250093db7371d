package pm

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/fold-es/fold/lib/record"
)

// A crash mid-append leaves a torn last line: the next letters go on a
// line of their own, the torn one is reported as what it is, and no
// letter is lost.
func TestLettersAppendAfterATornLine(t *testing.T) {
	l := Letters{Path: filepath.Join(t.TempDir(), "pm", LettersFile)}
	letter := func(id string) record.DeadLetter {
		return record.DeadLetter{Envelope: record.RawMessage(`{"aggregate_type":"order","instance_id":"` + id + `","command":{"type":"Ship"}}`), Error: "no handler", Ts: 1}
	}
	if err := l.Append([]record.DeadLetter{letter("o-1")}); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(l.Path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"envelope":{"aggr`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := l.Append([]record.DeadLetter{letter("o-2"), letter("o-3")}); err != nil {
		t.Fatal(err)
	}
	got, _, err := l.Read()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	torn := 0
	for _, lt := range got {
		if lt.Err != nil {
			torn++
			if lt.Line != 2 {
				t.Errorf("line %d: %v; want only line 2, the torn one, to fail", lt.Line, lt.Err)
			}
			continue
		}
		var env record.Envelope
		if err := record.Unmarshal(lt.Letter.Envelope, &env); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, env.InstanceID)
	}
	if torn != 1 || len(ids) != 3 || ids[0] != "o-1" || ids[1] != "o-2" || ids[2] != "o-3" {
		t.Fatalf("letters %v and %d torn lines; want o-1 o-2 o-3 and the torn line", ids, torn)
	}
}
