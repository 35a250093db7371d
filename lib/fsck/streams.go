package fsck

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/cespare/xxhash/v2"

	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// streams checks every stream directory under streams/, sorted by type
// and id: its log line by line, then its snapshot.
func (c *checker) streams() error {
	dir := filepath.Join(c.cfg.Root.Dir, "streams")
	types, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return c.ioError(dir, "", err)
	}
	for _, td := range types {
		if !td.IsDir() {
			continue
		}
		tdir := filepath.Join(dir, td.Name())
		if err := store.CheckName("aggregate_type", td.Name()); err != nil {
			if err := c.warnf(KindBadName, tdir, nil, "", err.Error()+": no fold program reads it"); err != nil {
				return err
			}
			continue
		}
		ids, err := os.ReadDir(tdir) // sorted by name
		if err != nil {
			if err := c.ioError(tdir, "", err); err != nil {
				return err
			}
			continue
		}
		for _, d := range ids {
			if !d.IsDir() {
				continue
			}
			id := record.StreamID{Type: td.Name(), ID: d.Name()}
			if err := store.CheckName("instance_id", id.ID); err != nil {
				if err := c.warnf(KindBadName, filepath.Join(tdir, d.Name()), nil, "", err.Error()+": no fold program reads it"); err != nil {
					return err
				}
				continue
			}
			if !c.cfg.Root.HasStream(id) {
				continue // a directory whose log was never written
			}
			c.onDisk = append(c.onDisk, id)
			c.sum.Streams++
			if err := c.stream(id); err != nil {
				return err
			}
			if err := c.ctx.Err(); err != nil {
				return err
			}
		}
	}
	return nil
}

// stream checks one stream's log and snapshot.
func (c *checker) stream(id record.StreamID) error {
	path := c.cfg.Root.LogPath(id)
	lg, err := c.cfg.Root.OpenLog(id)
	if err != nil {
		return c.ioError(path, id.String(), err)
	}
	defer lg.Close()
	var found []Finding
	seen := make(map[uint64]int64) // xxh64 of each event id → where it first was
	t, err := lg.Scan(eventlog.Tail{}, -1, func(e eventlog.Entry) error {
		c.sum.Events++
		f := Finding{Level: LevelError, Path: path, Offset: at(e.Start), Stream: id.String()}
		evID, reason := checkEvent(e)
		switch {
		case reason != "":
			f.Kind, f.Message = KindCorruptLine, fmt.Sprintf("line %d: %s", e.Version, reason)
		case record.CheckEventSize(e.Line, c.cfg.MaxEvent) != nil:
			f.Kind = KindEventTooLarge
			f.Message = fmt.Sprintf("line %d: %v: fold's readers and pipes refuse it", e.Version, record.CheckEventSize(e.Line, c.cfg.MaxEvent))
		case evID != "":
			h := xxhash.Sum64String(evID)
			first, dup := seen[h]
			if !dup {
				seen[h] = e.Start
				return nil
			}
			f.Kind = KindDuplicateEventID
			f.Message = fmt.Sprintf("line %d: event id %s is also the id of the event at byte %d", e.Version, record.Quote(evID), first)
		default:
			return nil
		}
		found = append(found, f)
		if len(found) >= maxPerStream {
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return c.ioError(path, id.String(), err)
	}
	for _, f := range found {
		if err := c.report(f); err != nil {
			return err
		}
	}
	if errors.Is(err, errStop) {
		if err := c.warnf(KindCorruptLine, path, nil, id.String(),
			fmt.Sprintf("more than %d bad lines: the rest of the log was not checked", maxPerStream)); err != nil {
			return err
		}
	} else if t.Torn > 0 {
		if err := c.tornTail(id, t); err != nil {
			return err
		}
	}
	return c.snapshot(id, lg)
}

// maxPerStream bounds the findings of one log: a log that is not an event
// log at all should not print a line per line.
const maxPerStream = 100

// event is an event line as checked: each member kept raw, so a missing
// one is told from a null or zero one.
type event struct {
	Type  record.RawMessage `json:"type"`
	Data  record.RawMessage `json:"data"`
	Ts    record.RawMessage `json:"ts"`
	ID    record.RawMessage `json:"id"`
	Actor record.RawMessage `json:"actor"`
	Meta  record.RawMessage `json:"meta"`
}

// checkEvent checks that a complete log line is an event eventfold-es can
// read, as fold writes them: a JSON object of UTF-8 text with a non-empty
// string type, data (null when the variant has none), a ts of whole Unix
// seconds, and when present a string id and actor and an object meta. It
// returns the event's id, or why the line is not an event.
func checkEvent(e eventlog.Entry) (id string, reason string) {
	if ce := (*eventlog.CorruptError)(nil); errors.As(e.Err, &ce) {
		return "", ce.Reason + ": " + ce.Excerpt
	}
	if err := record.CheckText(e.Line); err != nil {
		return "", err.Error()
	}
	var ev event
	if err := record.Unmarshal(e.Line, &ev); err != nil {
		return "", "not an event: " + err.Error()
	}
	var typ string
	switch {
	case record.Unmarshal(ev.Type, &typ) != nil || typ == "":
		return "", "type is not a non-empty string: " + record.Excerpt(e.Line, 60)
	case ev.Data == nil:
		return "", "event has no data (eventfold-es refuses it; null when there is none): " + record.Excerpt(e.Line, 60)
	case ev.Ts == nil:
		return "", "event has no ts (eventfold-es refuses it): " + record.Excerpt(e.Line, 60)
	}
	if _, err := strconv.ParseUint(string(ev.Ts), 10, 64); err != nil {
		return "", fmt.Sprintf("ts %s is not whole Unix seconds", ev.Ts)
	}
	if ev.Actor != nil && !isString(ev.Actor) {
		return "", fmt.Sprintf("actor %s is not a string", excerpt(ev.Actor))
	}
	if ev.Meta != nil && !record.IsObject(ev.Meta) && !record.IsNull(ev.Meta) {
		return "", fmt.Sprintf("meta %s is not an object", excerpt(ev.Meta))
	}
	if ev.ID == nil || record.IsNull(ev.ID) {
		return "", ""
	}
	if record.Unmarshal(ev.ID, &id) != nil {
		return "", fmt.Sprintf("id %s is not a string", excerpt(ev.ID))
	}
	return id, ""
}

// excerpt shows a JSON value as it is written, cut at 40 bytes.
func excerpt(v record.RawMessage) string {
	if len(v) > 40 {
		return string(v[:40]) + "…"
	}
	return string(v)
}

func isString(v record.RawMessage) bool {
	var s string
	return record.Unmarshal(v, &s) == nil
}

// tornTail reports bytes after the log's last newline: a write that was
// never acknowledged. The next fold writer cuts them; a writer that does
// not (another program) would append onto them and ruin the line, so a
// repair cuts them now, under the writer lock.
func (c *checker) tornTail(id record.StreamID, t eventlog.Tail) error {
	f := Finding{Kind: KindTornTail, Level: LevelError, Path: c.cfg.Root.LogPath(id), Offset: at(t.Offset), Stream: id.String(),
		Message: fmt.Sprintf("%d bytes after the last newline: a write that was never acknowledged", t.Torn),
		Repair:  "cut them (fold's next writer to the stream would)"}
	if c.cfg.Repair {
		err := c.locked(id, func(w store.Writer) error {
			// A writer may have cut them and appended since the scan:
			// look again from the last line seen whole.
			from := t
			from.Torn = 0
			if mismatch, err := store.MatchPosition(w, &from, "scan"); err != nil {
				return err
			} else if mismatch != "" {
				from = eventlog.Tail{}
			}
			now, err := w.Scan(from, -1, func(eventlog.Entry) error { return nil })
			if err != nil || now.Torn == 0 {
				return err
			}
			if err := w.Truncate(now.Offset); err != nil {
				return err
			}
			return w.Sync()
		})
		if err != nil {
			f.Message += fmt.Sprintf("; not cut: %v", err)
		} else {
			f.Repaired, f.Repair = true, "cut"
		}
	}
	return c.report(f)
}

// locked runs fn with the stream's writer open and its lock held.
func (c *checker) locked(id record.StreamID, fn func(store.Writer) error) error {
	w, _, err := c.cfg.Root.OpenWriter(id, false)
	if err != nil {
		return err
	}
	defer w.Close()
	unlock, err := w.Lock(c.ctx, c.cfg.LockTimeout)
	if err != nil {
		return err
	}
	defer unlock()
	return fn(w)
}

// snapshot checks a stream's snapshot: that it reads, and that it matches
// the log (store.MatchSnapshot, the engine's own test). One that does not
// is never used, only rebuilt at every load; a repair removes it.
func (c *checker) snapshot(id record.StreamID, lg store.Log) error {
	path := c.cfg.Root.SnapshotPath(id)
	snap, err := c.cfg.Root.LoadSnapshot(id)
	if snap == nil && err == nil {
		return nil
	}
	c.sum.Snapshots++
	f := Finding{Kind: KindBadSnapshot, Level: LevelError, Path: path, Stream: id.String(),
		Repair: "remove it (a snapshot is a cache: the next writer saves a new one)"}
	if err != nil {
		f.Message = err.Error()
	} else {
		_, mismatch, err := store.MatchSnapshot(lg, *snap)
		if err != nil {
			return c.ioError(c.cfg.Root.LogPath(id), id.String(), err)
		}
		if mismatch == "" {
			return nil
		}
		f.Kind, f.Offset = KindSnapshotMismatch, at(snap.Offset)
		f.Message = "does not match its log: " + mismatch
	}
	if c.cfg.Repair {
		if err := c.locked(id, func(w store.Writer) error { return c.removeBadSnapshot(id, w) }); err != nil {
			f.Message += fmt.Sprintf("; not removed: %v", err)
		} else {
			f.Repaired, f.Repair = true, "removed"
		}
	}
	return c.report(f)
}

// removeBadSnapshot removes the snapshot if it is still one that does not
// match: a writer may have saved a good one since it was checked.
func (c *checker) removeBadSnapshot(id record.StreamID, w store.Writer) error {
	snap, err := c.cfg.Root.LoadSnapshot(id)
	if err == nil && snap == nil {
		return nil
	}
	if err == nil {
		_, mismatch, err := store.MatchSnapshot(w, *snap)
		if err != nil || mismatch == "" {
			return err
		}
	}
	err = os.Remove(c.cfg.Root.SnapshotPath(id))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
