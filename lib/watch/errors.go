package watch

import (
	"errors"
	"fmt"

	"github.com/fold-es/fold/lib/record"
)

// ErrRewritten marks a cursor that does not match its stream's log.
var ErrRewritten = errors.New("stream rewritten")

// RewrittenError says which stream no longer matches the cursor a consumer
// holds for it, and how: its log is shorter than the cursor, no line ends
// at the cursor's offset, the line there has another hash, or the stream is
// gone. What the consumer derived from the stream is then unreliable: a
// projection is rebuilt.
type RewrittenError struct {
	Stream record.StreamID
	Cursor record.Cursor
	Reason string
}

func (e *RewrittenError) Error() string {
	return fmt.Sprintf("stream %s was rewritten: %s (cursor offset %d, hash %s)",
		record.Quote(e.Stream.String()), e.Reason, e.Cursor.Offset, record.Quote(e.Cursor.Hash))
}

// Unwrap lets callers test errors.Is(err, ErrRewritten).
func (e *RewrittenError) Unwrap() error { return ErrRewritten }
