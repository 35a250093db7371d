package pm

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/fold-es/fold/lib/record"
)

// LettersFile is the dead letters' name inside a process manager's
// directory.
const LettersFile = "dead_letters.jsonl"

// Letters is a dead-letter file: one {"envelope","error","ts"} object per
// line, the format fold-exec --rejects appends too, so a pipe into
// fold-exec can keep a process manager's dead letters in the same place.
type Letters struct {
	Path string
}

// LettersAt returns the dead letters kept in dir, e.g.
// store.Root.ProcessManagerDir(name).
func LettersAt(dir string) Letters {
	return Letters{Path: filepath.Join(dir, LettersFile)}
}

// Append adds letters in one write (O_APPEND, so lines from another
// appender do not interleave with them) and makes them durable. The file
// and its directory are created when missing. A file whose last line was
// torn (a crash mid-write) gets a newline first: the torn line stays, as
// a line readers report, and the new letters are not glued onto it.
func (l Letters) Append(letters []record.DeadLetter) error {
	if len(letters) == 0 {
		return nil
	}
	var buf []byte
	for _, dl := range letters {
		if !record.Valid(dl.Envelope) {
			dl.Envelope = record.InputValue(dl.Envelope)
		}
		b, err := record.Marshal(dl)
		if err != nil {
			return fmt.Errorf("encode dead letter: %w", err)
		}
		buf = append(append(buf, b...), '\n')
	}
	f, err := l.open()
	if err != nil {
		return err
	}
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		var last [1]byte
		if n, err := f.ReadAt(last[:], st.Size()-1); n == 1 && err == nil && last[0] != '\n' {
			buf = append([]byte{'\n'}, buf...)
		}
	}
	if _, err := f.Write(buf); err != nil {
		f.Close()
		return fmt.Errorf("write dead letters %s: %w", l.Path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync dead letters %s: %w", l.Path, err)
	}
	return f.Close()
}

// Create makes the file (and its directory) if missing, so that a path
// that cannot hold dead letters is found before any is written.
func (l Letters) Create() error {
	f, err := l.open()
	if err != nil {
		return err
	}
	return f.Close()
}

func (l Letters) open() (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(l.Path), 0o755); err != nil {
		return nil, fmt.Errorf("open dead letters: %w", err)
	}
	f, err := os.OpenFile(l.Path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open dead letters: %w", err)
	}
	return f, nil
}

// Letter is one line of a dead-letter file as read back.
type Letter struct {
	Line   int64             // 1-based line number in the file
	Raw    []byte            // the line as stored
	Letter record.DeadLetter // zero when Err is set
	Err    error             // the line is not a dead letter
}

// Read returns the file's complete lines (a last line without its newline
// is an append still in progress, or one that never finished) and the
// offset just past them. A file that does not exist holds no letters.
func (l Letters) Read() ([]Letter, int64, error) {
	data, err := os.ReadFile(l.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read dead letters: %w", err)
	}
	end := int64(bytes.LastIndexByte(data, '\n') + 1)
	return parseLetters(data[:end], 0), end, nil
}

// parseLetters splits data into letters, numbering lines after skip.
func parseLetters(data []byte, skip int64) []Letter {
	var out []Letter
	n := skip
	for line := range bytes.SplitSeq(data, []byte{'\n'}) {
		n++
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		lt := Letter{Line: n, Raw: line}
		// The line number goes with the error where it is reported.
		err := record.Unmarshal(line, &lt.Letter)
		switch {
		case !record.IsObject(line):
			err = fmt.Errorf("expected a JSON object, got %s", record.Excerpt(line, 60))
		case err == nil && record.IsNull(lt.Letter.Envelope):
			lt.Err = fmt.Errorf("a dead letter without an envelope: %s", record.Excerpt(line, 60))
		}
		if err != nil {
			lt.Letter = record.DeadLetter{}
			lt.Err = fmt.Errorf("not a dead letter: %w", err)
		}
		out = append(out, lt)
	}
	return out
}

// readFrom returns the complete lines appended past offset since Read.
func (l Letters) readFrom(offset int64) ([]byte, error) {
	f, err := os.Open(l.Path)
	if err != nil {
		return nil, fmt.Errorf("read dead letters: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.NewSectionReader(f, offset, 1<<62))
	if err != nil {
		return nil, fmt.Errorf("read dead letters: %w", err)
	}
	return data[:bytes.LastIndexByte(data, '\n')+1], nil
}

// Unique appends to Letters only the letters its file does not hold
// already (the same envelope and error, whatever their ts): a delivery
// that was never confirmed is reacted to again, and the same failures
// must not pile up.
type Unique struct{ Letters }

// Append appends the letters not in the file yet.
func (u Unique) Append(letters []record.DeadLetter) error {
	if len(letters) == 0 {
		return nil
	}
	have, _, err := u.Read()
	if err != nil {
		return err
	}
	seen := make(map[string]bool, len(have))
	for _, lt := range have {
		if lt.Err == nil {
			seen[letterKey(lt.Letter)] = true
		}
	}
	var fresh []record.DeadLetter
	for _, dl := range letters {
		key := letterKey(dl)
		if !seen[key] {
			seen[key] = true
			fresh = append(fresh, dl)
		}
	}
	return u.Letters.Append(fresh)
}

// letterKey is what makes two dead letters the same failure: the envelope
// as Append stores it, and the error.
func letterKey(dl record.DeadLetter) string {
	env := dl.Envelope
	if !record.Valid(env) {
		env = record.InputValue(env)
	}
	return string(record.AppendCompact(nil, env)) + "\x00" + dl.Error
}
