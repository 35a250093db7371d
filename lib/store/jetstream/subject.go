package jetstream

import (
	"fmt"
	"strings"

	"github.com/fold-es/fold/lib/record"
)

// escapeChar starts an escaped byte in a subject token or a KV key: '='
// and two upper-case hex digits. It is valid in both, and never appears
// unescaped, so the escape reverses.
const escapeChar = '='

// safe reports whether b stands for itself in a token: letters, digits,
// '-' and '_'. Everything else (the subject separators '.', '*', '>',
// white space, '$', the escape itself, every byte of a non-ASCII rune) is
// escaped, so any aggregate type or instance id is one token.
func safe(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '_'
}

const hexDigits = "0123456789ABCDEF"

// escape makes s one subject token (and one KV key segment).
func escape(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !safe(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if safe(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte(escapeChar)
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0xf])
	}
	return b.String()
}

// unescape reverses escape; a token escape could not have made is an
// error naming it.
func unescape(tok string) (string, error) {
	if !strings.ContainsRune(tok, escapeChar) {
		for i := 0; i < len(tok); i++ {
			if !safe(tok[i]) {
				return "", fmt.Errorf("subject token %s holds %q unescaped", record.Quote(tok), tok[i])
			}
		}
		return tok, nil
	}
	out := make([]byte, 0, len(tok))
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case c == escapeChar:
			if i+2 >= len(tok) {
				return "", fmt.Errorf("subject token %s ends inside an escape", record.Quote(tok))
			}
			hi, lo := unhex(tok[i+1]), unhex(tok[i+2])
			if hi < 0 || lo < 0 {
				return "", fmt.Errorf("subject token %s has a bad escape at byte %d", record.Quote(tok), i)
			}
			out = append(out, byte(hi<<4|lo))
			i += 2
		case safe(c):
			out = append(out, c)
		default:
			return "", fmt.Errorf("subject token %s holds %q unescaped", record.Quote(tok), c)
		}
	}
	return string(out), nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// registryToken is the second token of the subjects that record the
// creation of streams: <name>._streams.<type>.<id>. Event subjects have
// three tokens, so no aggregate type can collide with it.
const registryToken = "_streams"

// subjects builds and parses the subjects of one store.
type subjects struct {
	prefix string // the store's name: the first token of every subject
}

// events is the subject a stream's events are appended to:
// <name>.<type>.<id>.
func (s subjects) events(id record.StreamID) string {
	return s.prefix + "." + escape(id.Type) + "." + escape(id.ID)
}

// created is the subject that records a stream's creation, once:
// <name>._streams.<type>.<id>.
func (s subjects) created(id record.StreamID) string {
	return s.prefix + "." + registryToken + "." + escape(id.Type) + "." + escape(id.ID)
}

// all matches every subject of the store.
func (s subjects) all() string { return s.prefix + ".>" }

// snapshotKey is a stream's key in the snapshot bucket.
func snapshotKey(id record.StreamID) string { return escape(id.Type) + "." + escape(id.ID) }

// parse reads a subject of the store: the stream it is about, and whether
// it is an event subject (else a creation record).
func (s subjects) parse(subj string) (id record.StreamID, events bool, err error) {
	rest, ok := strings.CutPrefix(subj, s.prefix+".")
	if !ok {
		return id, false, fmt.Errorf("subject %s is not in store %s", record.Quote(subj), record.Quote(s.prefix))
	}
	toks := strings.Split(rest, ".")
	switch {
	case len(toks) == 2:
		events = true
	case len(toks) == 3 && toks[0] == registryToken:
		toks = toks[1:]
	default:
		return id, false, fmt.Errorf("subject %s is not a fold stream's", record.Quote(subj))
	}
	if id.Type, err = unescape(toks[0]); err != nil {
		return id, false, err
	}
	if id.ID, err = unescape(toks[1]); err != nil {
		return id, false, err
	}
	return id, events, nil
}
