package watch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"pgregory.net/rapid"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// torn is a line being written in pieces.
type torn struct {
	line    string
	written int
}

// Reading in many runs, each resuming from the cursors the previous one
// reached while writers keep appending (sometimes half a line), delivers
// exactly what one run at the end delivers: nothing twice, nothing lost,
// whatever the batch size.
func TestPropertyResumeIsExactlyOnce(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		dir, err := os.MkdirTemp("", "watch-prop-")
		if err != nil {
			rt.Fatal(err)
		}
		defer os.RemoveAll(dir)
		root := store.Open(filepath.Join(dir, "root"))
		streams := []record.StreamID{{Type: "a", ID: "1"}, {Type: "a", ID: "2"}, {Type: "b", ID: "1"}}
		pending := map[record.StreamID]torn{} // lines written in part so far
		seq := 0
		write := func(id record.StreamID, s string) {
			path := root.LogPath(id)
			if _, err := os.Stat(path); os.IsNotExist(err) {
				os.MkdirAll(filepath.Dir(path), 0o755)
				if err := root.Register(id, false); err != nil {
					rt.Fatal(err)
				}
			}
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
			if err != nil {
				rt.Fatal(err)
			}
			f.WriteString(s)
			f.Close()
		}
		src := &Source{Store: root, MaxBatch: rapid.IntRange(1, 5).Draw(rt, "batch")}
		cursors := map[string]record.Cursor{}
		var incremental []got
		for range rapid.IntRange(1, 8).Draw(rt, "runs") {
			for range rapid.IntRange(0, 6).Draw(rt, "writes") {
				id := streams[rapid.IntRange(0, len(streams)-1).Draw(rt, "stream")]
				p, ok := pending[id]
				if !ok {
					seq++
					p = torn{line: fmt.Sprintf(`{"type":"E","data":%d,"ts":1}`, seq)}
				}
				if p.written+1 < len(p.line) && rapid.Bool().Draw(rt, "torn") {
					cut := rapid.IntRange(p.written+1, len(p.line)-1).Draw(rt, "cut")
					write(id, p.line[p.written:cut])
					p.written = cut
					pending[id] = p
					continue
				}
				write(id, p.line[p.written:]+"\n")
				delete(pending, id)
			}
			err := src.CatchUp(context.Background(), cursors, func(b Batch) error {
				for _, r := range b.Records {
					incremental = append(incremental, got{r.Stream().String(), r.Version, r.Offset, r.Hash, string(r.Event)})
					cursors[r.Stream().String()] = record.Cursor{Offset: r.Offset, Hash: r.Hash}
				}
				return nil
			})
			if err != nil {
				rt.Fatal(err)
			}
		}
		var once []got
		if err := src.CatchUp(context.Background(), nil, func(b Batch) error {
			for _, r := range b.Records {
				once = append(once, got{r.Stream().String(), r.Version, r.Offset, r.Hash, string(r.Event)})
			}
			return nil
		}); err != nil {
			rt.Fatal(err)
		}
		// Order differs (runs interleave streams), so compare per stream.
		perStream := func(recs []got) map[string][]got {
			m := map[string][]got{}
			for _, g := range recs {
				m[g.stream] = append(m[g.stream], g)
			}
			return m
		}
		a, b := perStream(incremental), perStream(once)
		if len(a) != len(b) {
			rt.Fatalf("streams: incremental %d, once %d", len(a), len(b))
		}
		for s, want := range b {
			have := a[s]
			if len(have) != len(want) {
				rt.Fatalf("%s: incremental %d records, once %d", s, len(have), len(want))
			}
			for i := range want {
				if have[i] != want[i] {
					rt.Fatalf("%s record %d: incremental %+v, once %+v", s, i, have[i], want[i])
				}
			}
		}
	})
}
