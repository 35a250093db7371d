package watch

import (
	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/record"
)

// tail is what a read keeps per stream: its position (the line before it
// found by the first check, its version counted only when something past
// it has to be read, since a checkpoint's cursor has no version and
// counting reads the whole prefix).
type tail struct {
	pos     eventlog.Tail
	counted bool
}

func newTail(c record.Cursor) tail {
	if c.Offset <= 0 {
		return tail{pos: eventlog.Tail{LastStart: -1}, counted: true}
	}
	return tail{pos: eventlog.Tail{Offset: c.Offset, Hash: c.Hash, LastStart: -1}}
}

func (t *tail) cursor() record.Cursor { return record.Cursor{Offset: t.pos.Offset, Hash: t.pos.Hash} }

// moveTo takes the position a scan from t reached.
func (t *tail) moveTo(e eventlog.Tail) {
	if e.Offset == t.pos.Offset {
		return // no complete line: keep what is known about the line before
	}
	e.Torn = 0
	t.pos, t.counted = e, true
}
