package pm

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/fold-es/fold/lib/record"
)

// FuzzLetters: a dead-letter file of any content reads as one entry per
// non-blank complete line, numbered as in the file, each a letter with its
// envelope or an error quoting the line; the letters read append and read
// back the same.
func FuzzLetters(f *testing.F) {
	f.Add([]byte(`{"envelope":{"aggregate_type":"inventory","instance_id":"w","command":{"type":"Reserve"}},"error":"rejected","ts":1764446400}` + "\n"))
	f.Add([]byte("not a letter\n\n{\"envelope\":null,\"error\":\"x\",\"ts\":1}\n{\"envelope\":\"a line that did not parse\",\"error\":\"malformed\",\"ts\":2}\n{\"torn"))
	f.Add([]byte(`{"envelope":{},"error":7}` + "\n" + `[1]` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		l := LettersAt(dir)
		if err := os.WriteFile(l.Path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		letters, end, err := l.Read()
		if err != nil {
			t.Fatal(err)
		}
		if end != int64(bytes.LastIndexByte(data, '\n')+1) {
			t.Fatalf("read up to %d of %q", end, data)
		}
		lines := bytes.Split(data[:end], []byte{'\n'})
		var good []record.DeadLetter
		for _, lt := range letters {
			if lt.Line < 1 || lt.Line > int64(len(lines)) || !bytes.Equal(lines[lt.Line-1], lt.Raw) {
				t.Fatalf("letter at line %d: %q", lt.Line, lt.Raw)
			}
			if lt.Err != nil {
				if lt.Err.Error() == "" {
					t.Fatalf("line %d refused without a reason", lt.Line)
				}
				continue
			}
			if record.IsNull(lt.Letter.Envelope) {
				t.Fatalf("line %d: a letter without an envelope", lt.Line)
			}
			good = append(good, lt.Letter)
		}
		again := LettersAt(filepath.Join(dir, "again"))
		if err := again.Append(good); err != nil {
			t.Fatal(err)
		}
		back, _, err := again.Read()
		if err != nil || len(back) != len(good) {
			t.Fatalf("%d letters appended, %d read back: %v", len(good), len(back), err)
		}
		for i, lt := range back {
			if lt.Err != nil || lt.Letter.Error != good[i].Error || lt.Letter.Ts != good[i].Ts ||
				!bytes.Equal(compactValue(lt.Letter.Envelope), compactValue(good[i].Envelope)) {
				t.Fatalf("letter %d: %+v, read back %+v (%v)", i, good[i], lt.Letter, lt.Err)
			}
		}
	})
}

// compactValue is v without insignificant space, or v if it is not JSON.
func compactValue(v record.RawMessage) record.RawMessage {
	c, err := record.CompactState(v)
	if err != nil {
		return v
	}
	return c
}
