package jetstream

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/record"
)

// jsLog is a stream's log: the messages on its subject, their payloads
// end to end.
type jsLog struct {
	s       *Store
	st      jetstream.Stream
	id      record.StreamID
	subject string
}

// Name is the store's location and the stream's subject.
func (l *jsLog) Name() string { return l.s.loc + ":" + l.subject }

func (l *jsLog) Close() error { return nil }

// tip returns the log's last message, nil when the log is empty.
func (l *jsLog) tip(ctx context.Context) (*msg, error) {
	m, err := l.s.last(ctx, l.st, l.subject)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", l.Name(), err)
	}
	if m != nil {
		l.s.bounds.add(l.subject, m)
	}
	return m, nil
}

func (l *jsLog) next(ctx context.Context, seq uint64) (*msg, error) {
	m, err := l.s.next(ctx, l.st, l.subject, seq)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", l.Name(), err)
	}
	if m != nil {
		l.s.bounds.add(l.subject, m)
	}
	return m, nil
}

// find returns the message holding byte off of the log, whose last
// message is tip (off < tip.end()). It starts from the nearest message
// it knows of before off, checked to be still there, or from the first,
// and reads on.
func (l *jsLog) find(ctx context.Context, off int64, tip *msg) (*msg, error) {
	if off >= tip.start {
		return tip, nil
	}
	var cur *msg
	if r, ok := l.s.bounds.before(l.subject, off); ok {
		m, err := l.next(ctx, r.seq)
		if err != nil {
			return nil, err
		}
		if m != nil && m.seq == r.seq && m.start == r.start && m.end() == r.end {
			cur = m
		} else {
			l.s.bounds.drop(l.subject)
		}
	}
	if cur == nil {
		m, err := l.next(ctx, 1)
		if err != nil {
			return nil, err
		}
		if m == nil || m.start != 0 {
			return nil, fmt.Errorf("read %s: the log does not start at its first message (changed while read?)", l.Name())
		}
		cur = m
	}
	for off >= cur.end() {
		if cur.seq >= tip.seq {
			return nil, fmt.Errorf("read %s: byte %d is past the log's end (changed while read?)", l.Name(), off)
		}
		m, err := l.next(ctx, cur.seq+1)
		if err != nil {
			return nil, err
		}
		if m == nil || m.start != cur.end() {
			return nil, fmt.Errorf("read %s: no message follows byte %d (changed while read?)", l.Name(), cur.end())
		}
		cur = m
	}
	return cur, nil
}

// Check compares a position with the log, as memstore and the file
// backend do, from the log's last message and the one the position ends
// in.
func (l *jsLog) Check(t *eventlog.Tail) (eventlog.Check, error) {
	c, _, err := l.check(context.Background(), t)
	return c, err
}

// check is Check, returning the log's last message too.
func (l *jsLog) check(ctx context.Context, t *eventlog.Tail) (eventlog.Check, *msg, error) {
	tip, err := l.tip(ctx)
	if err != nil {
		return 0, nil, err
	}
	c, err := l.checkAt(ctx, t, tip)
	return c, tip, err
}

func (l *jsLog) checkAt(ctx context.Context, t *eventlog.Tail, tip *msg) (eventlog.Check, error) {
	size := int64(0)
	if tip != nil {
		size = tip.end()
	}
	switch {
	case t.Offset <= 0:
		return moreIf(size > 0), nil
	case t.Offset > size:
		return eventlog.Short, nil
	}
	start, line, err := l.lineBefore(ctx, t.Offset, tip)
	if err != nil || line == nil {
		return eventlog.Changed, err
	}
	if t.LastStart >= 0 && t.LastStart != start || record.Hash(line) != t.Hash {
		return eventlog.Changed, nil
	}
	t.LastStart = start
	return moreIf(t.Offset < size), nil
}

func moreIf(more bool) eventlog.Check {
	if more {
		return eventlog.More
	}
	return eventlog.Same
}

// lineBefore returns the line that ends (with its newline) just before
// off and where it starts; a nil line when no line ends there.
func (l *jsLog) lineBefore(ctx context.Context, off int64, tip *msg) (int64, []byte, error) {
	m, err := l.find(ctx, off-1, tip)
	if err != nil {
		return 0, nil, err
	}
	i := off - 1 - m.start
	if m.data[i] != '\n' {
		return 0, nil, nil
	}
	if j := bytes.LastIndexByte(m.data[:i], '\n'); j >= 0 {
		return m.start + int64(j) + 1, m.data[j+1 : i], nil
	}
	if m.torn == 0 {
		return m.start, m.data[:i], nil
	}
	// The line began in an earlier message: only a line longer than the
	// server's payload limit, or bytes appended raw, do that.
	var start int64
	var line []byte
	_, err = l.scan(ctx, eventlog.Tail{}, off, tip, func(e eventlog.Entry) error {
		start, line = e.Start, append(line[:0], e.Line...)
		return nil
	})
	return start, line, err
}

// Count sets t.Version from the version the message holding t's line
// carries, less the lines after t in it.
func (l *jsLog) Count(t *eventlog.Tail) error {
	if t.Offset <= 0 {
		t.Version = 0
		return nil
	}
	ctx := context.Background()
	tip, err := l.tip(ctx)
	if err != nil {
		return err
	}
	if tip == nil || t.Offset > tip.end() {
		return fmt.Errorf("count %s: offset %d is past the end", l.Name(), t.Offset)
	}
	m, err := l.find(ctx, t.Offset-1, tip)
	if err != nil {
		return err
	}
	t.Version = m.pos.version - uint64(bytes.Count(m.data[t.Offset-m.start:], []byte{'\n'}))
	return nil
}

// Scan reads the lines of the messages from the one holding from.Offset
// to the last one there was when it began, with the one parser of the
// log format.
func (l *jsLog) Scan(from eventlog.Tail, end int64, fn func(eventlog.Entry) error) (eventlog.Tail, error) {
	ctx := context.Background()
	tip, err := l.tip(ctx)
	if err != nil {
		return from, err
	}
	return l.scan(ctx, from, end, tip, fn)
}

func (l *jsLog) scan(ctx context.Context, from eventlog.Tail, end int64, tip *msg, fn func(eventlog.Entry) error) (eventlog.Tail, error) {
	if tip == nil || from.Offset >= tip.end() {
		t := from
		t.Torn = 0
		return t, nil
	}
	m, err := l.find(ctx, from.Offset, tip)
	if err != nil {
		return from, err
	}
	r := &msgReader{ctx: ctx, l: l, cur: m, pos: from.Offset, last: tip.seq}
	return eventlog.ScanAt(r, l.Name(), from, end, fn)
}

// readRange returns the log's bytes from..to.
func (l *jsLog) readRange(ctx context.Context, from, to int64, tip *msg) ([]byte, error) {
	if from >= to {
		return nil, nil
	}
	m, err := l.find(ctx, from, tip)
	if err != nil {
		return nil, err
	}
	r := &msgReader{ctx: ctx, l: l, cur: m, pos: from, last: tip.seq}
	buf := make([]byte, to-from)
	if _, err := io.ReadFull(io.NewSectionReader(r, from, to-from), buf); err != nil {
		return nil, fmt.Errorf("read %s: %w", l.Name(), err)
	}
	return buf, nil
}

// Durable returns the log's end: what the server acknowledged is as
// durable as the server makes it.
func (l *jsLog) Durable() (int64, error) {
	tip, err := l.tip(context.Background())
	if err != nil || tip == nil {
		return 0, err
	}
	return tip.end(), nil
}

// msgReader reads a log's bytes message by message, in order: ReadAt
// must be asked for the bytes just after the last ones it returned, as a
// scan does. It stops at the message that was last when it began.
type msgReader struct {
	ctx  context.Context
	l    *jsLog
	cur  *msg
	pos  int64
	last uint64
}

func (r *msgReader) ReadAt(p []byte, off int64) (int, error) {
	if off != r.pos {
		return 0, fmt.Errorf("read %s: at %d, not at %d where the last read ended", r.l.Name(), off, r.pos)
	}
	n := 0
	for n < len(p) {
		if i := r.pos - r.cur.start; i < int64(len(r.cur.data)) {
			k := copy(p[n:], r.cur.data[i:])
			n += k
			r.pos += int64(k)
			continue
		}
		if r.cur.seq >= r.last {
			return n, io.EOF
		}
		m, err := r.l.next(r.ctx, r.cur.seq+1)
		if err != nil {
			return n, err
		}
		if m == nil {
			return n, io.EOF // cut meanwhile
		}
		if m.start != r.cur.end() {
			return n, fmt.Errorf("read %s: message %d starts at %d, not at %d (changed while read?)", r.l.Name(), m.seq, m.start, r.cur.end())
		}
		r.cur = m
	}
	return n, nil
}
