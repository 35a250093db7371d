package app

import (
	"bytes"
	"log/slog"
	"testing"
)

func TestTextHandler(t *testing.T) {
	for _, tc := range []struct {
		name  string
		level slog.Level
		log   func(*slog.Logger)
		want  string
	}{
		{"a warning and its hint", slog.LevelWarn, func(l *slog.Logger) {
			l.Warn(`no store at "fold-data"`, "hint", "check --root and $FOLD_ROOT")
		}, "prog: warning: no store at \"fold-data\"\nprog: hint: check --root and $FOLD_ROOT\n"},
		{"attributes as key=value, quoted when needed", slog.LevelInfo, func(l *slog.Logger) {
			l.Info("opened", "name", "a b", "n", 3, "empty", "", "eq", "a=b", "plain", "x")
		}, "prog: note: opened name=\"a b\" n=3 empty=\"\" eq=\"a=b\" plain=x\n"},
		{"the hint after the attributes, whatever their order", slog.LevelError, func(l *slog.Logger) {
			l.Error("failed", "hint", "run again", "err", "boom")
		}, "prog: error: failed err=boom\nprog: hint: run again\n"},
		{"attributes of With first; prog dropped", slog.LevelWarn, func(l *slog.Logger) {
			l.With("prog", "other", "stream", "counter/a").Warn("slow", "ms", 12)
		}, "prog: warning: slow stream=counter/a ms=12\n"},
		{"below the level: nothing", slog.LevelWarn, func(l *slog.Logger) {
			l.Info("quiet")
			l.Debug("quieter")
		}, ""},
		{"debug", slog.LevelDebug, func(l *slog.Logger) { l.Debug("detail", "k", "v") }, "prog: debug: detail k=v\n"},
		{"groups are flattened", slog.LevelWarn, func(l *slog.Logger) { l.WithGroup("g").Warn("m", "k", 1) }, "prog: warning: m k=1\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			tc.log(slog.New(newTextHandler(&b, "prog", tc.level)))
			if b.String() != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", b.String(), tc.want)
			}
		})
	}
}
