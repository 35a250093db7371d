package consumer

import (
	"context"
	"io"
	"log/slog"
)

// msgHandler writes each message on a line of its own, unquoted.
type msgHandler struct{ w io.Writer }

func (h msgHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h msgHandler) Handle(_ context.Context, r slog.Record) error {
	_, err := io.WriteString(h.w, r.Message+"\n")
	return err
}
func (h msgHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h msgHandler) WithGroup(string) slog.Handler      { return h }

func newLog(w io.Writer) *slog.Logger { return slog.New(msgHandler{w}) }
