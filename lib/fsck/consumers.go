package fsck

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/fold-es/fold/lib/checkpoint"
	"github.com/fold-es/fold/lib/consumer"
	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/pm"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// consumers checks every consumer's files (projections, process managers,
// fold-watch checkpoints), by kind then name.
func (c *checker) consumers() error {
	for _, kind := range consumer.Kinds {
		parent := filepath.Dir(consumer.Dir(c.cfg.Root, kind, "x"))
		entries, err := os.ReadDir(parent)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			if err := c.ioError(parent, "", err); err != nil {
				return err
			}
			continue
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			c.sum.Consumers++
			if err := c.consumer(filepath.Join(parent, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// consumer checks one consumer's directory: its checkpoint and pending
// delivery (readable, every cursor on a line its stream still has), its
// note, and its dead letters.
func (c *checker) consumer(dir string) error {
	for _, name := range []string{checkpoint.FileName, consumer.PendingFile} {
		if err := c.checkpoint(filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	if _, err := consumer.ReadNote(dir); err != nil {
		if err := c.errorf(KindBadNote, filepath.Join(dir, consumer.NoteFile), nil, "", err.Error()); err != nil {
			return err
		}
	}
	return c.deadLetters(pm.LettersAt(dir))
}

// checkpoint checks a checkpoint file, if there is one, and its cursors.
func (c *checker) checkpoint(path string) error {
	cp, found, err := checkpoint.File{Path: path}.Load()
	if err != nil {
		return c.errorf(KindBadCheckpoint, path, nil, "", err.Error())
	}
	if !found {
		return nil
	}
	keys := make([]string, 0, len(cp.Cursors))
	for k := range cp.Cursors {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := c.cursor(path, k, cp.Cursors[k]); err != nil {
			return err
		}
	}
	return nil
}

// cursor checks that a cursor names a stream and a line of its log, as a
// consumer's next run checks it. A stream that no longer matches is
// "rewritten": the consumer's next run says so and starts it over.
func (c *checker) cursor(path, key string, cur record.Cursor) error {
	typ, inst, ok := strings.Cut(key, "/")
	id := record.StreamID{Type: typ, ID: inst}
	if !ok {
		return c.errorf(KindBadCursor, path, nil, "", fmt.Sprintf("cursor %s is not TYPE/ID", record.Quote(key)))
	}
	if err := store.CheckStream(id); err != nil {
		return c.errorf(KindBadCursor, path, nil, "", fmt.Sprintf("cursor %s: %v", record.Quote(key), err))
	}
	if cur.Offset == 0 {
		return nil // the start of a stream, whether it exists or not
	}
	rewritten := func(why string) error {
		return c.errorf(KindRewritten, path, at(cur.Offset), key,
			fmt.Sprintf("cursor %s (offset %d, hash %s): %s; its next run starts the stream over (--rebuild starts all over)",
				record.Quote(key), cur.Offset, record.Quote(cur.Hash), why))
	}
	lg, err := c.cfg.Root.OpenLog(id)
	if errors.Is(err, store.ErrNoStream) {
		return rewritten("the stream no longer exists")
	}
	if err != nil {
		return c.ioError(c.cfg.Root.LogPath(id), key, err)
	}
	defer lg.Close()
	t := eventlog.Tail{Offset: cur.Offset, Hash: cur.Hash, LastStart: -1}
	mismatch, err := store.MatchPosition(lg, &t, "cursor")
	switch {
	case err != nil:
		return c.ioError(lg.Name(), key, err)
	case mismatch != "":
		return rewritten(mismatch)
	}
	return nil
}

// deadLetters checks that every line of a dead-letter file is one, and
// that the file ends in a newline: the next letter appended onto a torn
// line would make one bad line of the two.
func (c *checker) deadLetters(l pm.Letters) error {
	letters, end, err := l.Read()
	if err != nil {
		return c.ioError(l.Path, "", err)
	}
	for _, lt := range letters {
		if lt.Err != nil {
			if err := c.errorf(KindBadDeadLetter, l.Path, nil, "", fmt.Sprintf("line %d: %v", lt.Line, lt.Err)); err != nil {
				return err
			}
			continue
		}
		c.sum.DeadLetters++
	}
	st, err := os.Stat(l.Path)
	if err == nil && st.Size() > end {
		return c.errorf(KindTornTail, l.Path, at(end), "",
			fmt.Sprintf("%d bytes after the last newline: a dead letter whose write never finished", st.Size()-end))
	}
	return nil
}
