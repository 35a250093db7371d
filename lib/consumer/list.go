package consumer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/fold-es/fold/lib/checkpoint"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
	"github.com/fold-es/fold/lib/watch"
)

// Status is one consumer as a listing shows it: how far behind the store
// it is, and what its files say.
type Status struct {
	Kind Kind   `json:"kind"`
	Name string `json:"name"`
	// Behind is how many records of the streams it reads come after its
	// checkpoint: what its next run has to do.
	Behind int64 `json:"behind"`
	// Pending is how many of those a run delivered that were not
	// confirmed yet (--commit); 0 when none is pending.
	Pending     int64    `json:"pending"`
	DeadLetters int64    `json:"dead_letters"`
	LastRun     *RunNote `json:"last_run,omitempty"`
	Confirmed   int64    `json:"confirmed,omitempty"` // the last --commit, Unix seconds
	// Stale says how the handler changed since the state was built from
	// nothing; Rewritten counts the streams that no longer match its
	// cursors. Either calls for --rebuild.
	Stale     string `json:"stale,omitempty"`
	Rewritten int    `json:"rewritten,omitempty"`
	Error     string `json:"error,omitempty"` // what could not be read
}

// List finds every consumer kept in root (projections, process managers,
// fold-watch checkpoints), in kind then name order, and reads how far
// behind st's streams each is. A consumer whose files cannot be read is
// listed with its Error; only a failure to list the directories fails
// the whole.
func List(ctx context.Context, root store.Root, st store.Store) ([]Status, error) {
	var out []Status
	for _, kind := range Kinds {
		parent := filepath.Dir(Dir(root, kind, "x"))
		entries, err := os.ReadDir(parent)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			s := status(ctx, st, kind, e.Name(), filepath.Join(parent, e.Name()))
			out = append(out, s)
			if err := ctx.Err(); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

func status(ctx context.Context, st store.Store, kind Kind, name, dir string) Status {
	s := Status{Kind: kind, Name: name}
	note, err := ReadNote(dir)
	if err != nil {
		s.Error = err.Error()
	}
	s.LastRun, s.Confirmed, s.Stale = note.LastRun, note.Confirmed, note.Stale()
	cp, _, err := checkpoint.At(dir).Load()
	if err != nil {
		s.Error = err.Error()
		return s
	}
	src := selection(st, note, cp)
	if s.Behind, s.Rewritten, err = behind(ctx, src, cp.Cursors); err != nil {
		s.Error = err.Error()
		return s
	}
	if pending, found, err := (checkpoint.File{Path: filepath.Join(dir, PendingFile)}).Load(); err == nil && found {
		if rest, _, err := behind(ctx, src, pending.Cursors); err == nil {
			s.Pending = s.Behind - rest
		}
	}
	if kind == ProcessManager {
		s.DeadLetters = countLines(filepath.Join(dir, "dead_letters.jsonl"))
	}
	return s
}

// selection is the streams a consumer reads, as its note says; without a
// note (a consumer eventfold-es made, or an older fold), the types its
// cursors name.
func selection(st store.Store, note Note, cp record.Checkpoint) *watch.Source {
	src := &watch.Source{Store: st, Types: note.Subscribe}
	for _, s := range note.Streams {
		if id, err := store.ParseStream(s); err == nil {
			src.Streams = append(src.Streams, id)
		}
	}
	if note.Kind == "" {
		for key := range cp.Cursors {
			if t, _, ok := strings.Cut(key, "/"); ok && !slices.Contains(src.Types, t) {
				src.Types = append(src.Types, t)
			}
		}
	}
	return src
}

// behind counts the records past cursors; a stream that no longer matches
// its cursor counts whole, and is counted among the rewritten.
func behind(ctx context.Context, src *watch.Source, cursors map[string]record.Cursor) (n int64, rewritten int, err error) {
	s := *src
	s.OnRewritten = func(*watch.RewrittenError) error { rewritten++; return nil }
	err = s.CatchUp(ctx, cursors, func(b watch.Batch) error {
		n += int64(len(b.Records))
		return nil
	})
	if errors.Is(err, store.ErrNoStream) {
		err = nil // a --stream that is gone: nothing to be behind on
	}
	return n, rewritten, err
}

// countLines counts the non-blank lines of a file, 0 when there is none.
func countLines(path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	var n int64
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			n++
		}
	}
	return n
}
