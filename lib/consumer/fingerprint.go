package consumer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/fold-es/fold/lib/record"
)

// maxHashed bounds the files a fingerprint reads whole; a larger one (a
// big binary) is known by its size and modification time.
const maxHashed = 64 << 20

// Fingerprint identifies a handler: its command line, and the contents of
// the files the command line names (a .jq program, a script, a binary),
// so that editing the program is noticed even when the command is the same.
type Fingerprint struct {
	Command string            `json:"command,omitempty"`
	Files   map[string]string `json:"files,omitempty"` // path as the command names it → "sha256:…"
}

// FingerprintOf fingerprints a handler's command line. Words are split as
// the shell would split simple quoting; a word that names a regular file
// (relative to the working directory), also after "jq:" or "--opt=", is
// read.
func FingerprintOf(command string) Fingerprint {
	fp := Fingerprint{Command: command}
	for _, w := range words(command) {
		for _, path := range candidates(w) {
			sum, ok := fileSum(path)
			if !ok {
				continue
			}
			if fp.Files == nil {
				fp.Files = map[string]string{}
			}
			fp.Files[path] = sum
		}
	}
	return fp
}

// Diff says how f differs from old, "" when it does not: the first
// difference, in words for a message.
func (f Fingerprint) Diff(old Fingerprint) string {
	if f.Command != old.Command {
		return fmt.Sprintf("the command was %s, now %s", record.Quote(old.Command), record.Quote(f.Command))
	}
	for _, path := range slices.Sorted(maps.Keys(old.Files)) {
		now, ok := f.Files[path]
		switch {
		case !ok:
			return fmt.Sprintf("file %s is gone", record.Quote(path))
		case now != old.Files[path]:
			return fmt.Sprintf("file %s changed", record.Quote(path))
		}
	}
	for _, path := range slices.Sorted(maps.Keys(f.Files)) {
		if _, ok := old.Files[path]; !ok {
			return fmt.Sprintf("file %s appeared", record.Quote(path))
		}
	}
	return ""
}

// words splits a command line on blanks, honouring single and double
// quotes and backslashes the simple way: enough to find the file names in
// it, not a shell.
func words(s string) []string {
	var out []string
	var w strings.Builder
	in := false // inside a word
	var quote rune
	esc := false
	for _, r := range s {
		switch {
		case esc:
			w.WriteRune(r)
			esc = false
		case r == '\\' && quote != '\'':
			esc, in = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				w.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if in {
				out = append(out, w.String())
				w.Reset()
				in = false
			}
		default:
			w.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, w.String())
	}
	return out
}

// candidates are the paths a word may name.
func candidates(w string) []string {
	out := []string{w}
	if _, after, ok := strings.Cut(w, "="); ok && after != "" {
		out = append(out, after)
	}
	if after, ok := strings.CutPrefix(w, "jq:"); ok && after != "" {
		out = append(out, after)
	}
	return out
}

// fileSum is the fingerprint of a regular file's contents.
func fileSum(path string) (string, bool) {
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() {
		return "", false
	}
	if st.Size() > maxHashed {
		return fmt.Sprintf("size:%d,mtime:%d", st.Size(), st.ModTime().UnixNano()), true
	}
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", false
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), true
}
