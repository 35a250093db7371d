package fsck

import (
	"errors"
	"fmt"
	"os"

	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// registry checks meta/streams.jsonl against the streams on disk: every
// line an entry, every entry a stream with a log, every stream with a log
// registered. fold's readers find an unregistered stream by listing its
// directory, but eventfold-es's may go by the registry alone.
func (c *checker) registry() error {
	path := c.cfg.Root.RegistryPath()
	c.registered = make(map[record.StreamID]bool)
	f, err := os.Open(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		if err := c.ioError(path, "", err); err != nil {
			return err
		}
	default:
		err := c.registryLines(f, path)
		f.Close()
		if err != nil {
			return err
		}
	}
	for _, id := range c.onDisk {
		if !c.registered[id] {
			if err := c.unregistered(id); err != nil {
				return err
			}
		}
	}
	return nil
}

// registryLines reads the registry's lines, reporting those that are not
// entries, entries given twice, and entries whose stream has no log.
func (c *checker) registryLines(f *os.File, path string) error {
	var found []Finding
	t, err := eventlog.ScanAt(f, path, eventlog.Tail{}, -1, func(e eventlog.Entry) error {
		var en record.RegistryEntry
		reason := ""
		if err := record.CheckText(e.Line); err != nil {
			reason = err.Error()
		} else if err := record.Unmarshal(e.Line, &en); err != nil || !record.IsObject(e.Line) {
			reason = "not a registry entry: " + record.Excerpt(e.Line, 60)
		}
		id := record.StreamID{Type: en.Type, ID: en.ID}
		if reason == "" {
			if err := store.CheckStream(id); err != nil {
				reason = err.Error()
			}
		}
		switch {
		case reason != "":
			// fold skips the line; the directory listing still finds
			// the stream, and reports it unregistered if nothing else
			// names it.
			found = append(found, Finding{Kind: KindBadRegistryLine, Level: LevelWarning, Path: path, Offset: at(e.Start),
				Message: fmt.Sprintf("line %d: %s", e.Version, reason)})
		case c.registered[id]:
			found = append(found, Finding{Kind: KindDuplicateRegistry, Level: LevelWarning, Path: path, Offset: at(e.Start), Stream: id.String(),
				Message: fmt.Sprintf("line %d: stream %s is registered again (discovery keeps its first place)", e.Version, record.Quote(id.String()))})
		default:
			c.registered[id] = true
			if !c.cfg.Root.HasStream(id) {
				found = append(found, Finding{Kind: KindMissingStream, Level: LevelError, Path: path, Offset: at(e.Start), Stream: id.String(),
					Message: fmt.Sprintf("line %d: stream %s is registered, but %s does not exist (deleted?)",
						e.Version, record.Quote(id.String()), record.Quote(c.cfg.Root.LogPath(id)))})
			}
		}
		return nil
	})
	if err != nil {
		return c.ioError(path, "", err)
	}
	if t.Torn > 0 {
		found = append(found, Finding{Kind: KindTornTail, Level: LevelWarning, Path: path, Offset: at(t.Offset),
			Message: fmt.Sprintf("%d bytes after the last newline: a registration that never finished (the next one starts a new line)", t.Torn)})
	}
	for _, f := range found {
		if err := c.report(f); err != nil {
			return err
		}
	}
	return nil
}

// unregistered reports a stream the registry does not name and, repairing,
// registers it. Only a stream with an event is registered: an empty log
// may be one a writer is creating right now, which registers it itself.
func (c *checker) unregistered(id record.StreamID) error {
	f := Finding{Kind: KindUnregistered, Level: LevelError, Path: c.cfg.Root.LogPath(id), Stream: id.String(),
		Message: fmt.Sprintf("stream %s is not in %s: fold finds it by listing, eventfold-es may not",
			record.Quote(id.String()), record.Quote(c.cfg.Root.RegistryPath())),
		Repair: "register it"}
	var events uint64
	lg, err := c.cfg.Root.OpenLog(id)
	if err == nil {
		_, err = lg.Scan(eventlog.Tail{}, -1, func(eventlog.Entry) error { return errStop })
		if errors.Is(err, errStop) {
			events, err = 1, nil
		}
		lg.Close()
	}
	if err != nil {
		return c.ioError(c.cfg.Root.LogPath(id), id.String(), err)
	}
	if events == 0 {
		f.Level, f.Repair = LevelWarning, ""
		f.Message += "; its log is empty (a stream being created, or a crash before its first event)"
		return c.report(f)
	}
	if c.cfg.Repair {
		if err := c.cfg.Root.Register(id, true); err != nil {
			f.Message += fmt.Sprintf("; not registered: %v", err)
		} else {
			f.Repaired, f.Repair = true, "registered"
		}
	}
	return c.report(f)
}
