package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// textHandler writes log records the way fold's other diagnostics read:
//
//	fold-watch: warning: no store at "fold-data"
//	fold-watch: hint: check --root and $FOLD_ROOT
//
// with the record's other attributes after the message as key=value, and
// a "hint" attribute on a line of its own. --log-format json gives slog's
// JSON records instead, for machines.
type textHandler struct {
	mu    *sync.Mutex
	w     io.Writer
	prog  string
	level slog.Leveler
	attrs []slog.Attr
}

func newTextHandler(w io.Writer, prog string, level slog.Leveler) *textHandler {
	return &textHandler{mu: &sync.Mutex{}, w: w, prog: prog, level: level}
}

func (h *textHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

func (h *textHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s: %s", h.prog, levelWord(r.Level), r.Message)
	hint := ""
	add := func(a slog.Attr) bool {
		switch {
		case a.Key == "hint":
			hint = a.Value.String()
		case a.Key == "prog" || a.Equal(slog.Attr{}):
		default:
			fmt.Fprintf(&b, " %s=%s", a.Key, quoteIfNeeded(a.Value.String()))
		}
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	b.WriteByte('\n')
	if hint != "" {
		fmt.Fprintf(&b, "%s: hint: %s\n", h.prog, hint)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *textHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

// WithGroup is not used by fold: groups are flattened.
func (h *textHandler) WithGroup(string) slog.Handler { return h }

func levelWord(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "error"
	case l >= slog.LevelWarn:
		return "warning"
	case l >= slog.LevelInfo:
		return "note"
	}
	return "debug"
}

func quoteIfNeeded(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\n\"=") {
		return fmt.Sprintf("%q", s)
	}
	return s
}
