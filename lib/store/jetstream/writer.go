package jetstream

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/store"
)

// writer appends to a stream's log. Its lock is this process's only:
// across processes and machines, each append expects the subject's last
// sequence to be the one the writer read, and fails with
// store.ErrConflict otherwise.
type writer struct {
	jsLog
	hold store.LockHold

	// known is the log's last message as this writer last saw it, read
	// or appended; nil when not known.
	known *msg
}

func (w *writer) Lock(ctx context.Context, timeout time.Duration) (func() error, error) {
	return w.hold.Lock(ctx, timeout, w.Name())
}

func (w *writer) Close() error { return w.hold.Unlock() }

// Sync does nothing: Append returns once the server has stored the lines.
func (w *writer) Sync() error { return nil }

// Check is the log's, and remembers the last message it read.
func (w *writer) Check(t *eventlog.Tail) (eventlog.Check, error) {
	c, tip, err := w.check(context.Background(), t)
	w.known = tip
	return c, err
}

// tipAt returns the last message, which must end at end: a log that
// goes on is a conflict, one that ends before is the caller's mistake.
func (w *writer) tipAt(ctx context.Context, end int64) (*msg, error) {
	tip := w.known
	if tip == nil || tip.end() != end {
		var err error
		if tip, err = w.tip(ctx); err != nil {
			return nil, err
		}
	}
	size := int64(0)
	if tip != nil {
		size = tip.end()
	}
	switch {
	case size > end:
		return nil, fmt.Errorf("append to %s at %d: the log goes on to %d: %w", w.Name(), end, size, store.ErrConflict)
	case size < end:
		return nil, fmt.Errorf("append to %s at %d: the log ends at %d", w.Name(), end, size)
	}
	return tip, nil
}

// Append publishes lines as one message expecting the log's last message
// to be the one that ends at end; lines longer than the server takes in
// one message go as an atomic batch, all or nothing.
func (w *writer) Append(lines []byte, end int64) error {
	ctx := context.Background()
	w.known = nil
	tip, err := w.tipAt(ctx, end)
	if err != nil {
		return err
	}
	var prev position
	var expect uint64
	if tip != nil {
		prev, expect = tip.pos, tip.seq
	}
	chunks := split(lines, int(w.s.nc.MaxPayload())-headroom)
	msgs := make([]*msg, len(chunks))
	at, pos := end, prev
	for i, c := range chunks {
		torn := at - pos.offset
		if pos, err = after(pos, at, c, func() ([]byte, error) { return w.readTorn(ctx, pos.offset, at, tip, chunks[:i]) }); err != nil {
			return err
		}
		msgs[i] = &msg{start: at, torn: torn, pos: pos, data: c}
		at += int64(len(c))
	}
	msgs[len(msgs)-1].appendID = uuid.NewString()
	var seq uint64
	if len(msgs) == 1 {
		nm := nats.NewMsg(w.subject)
		nm.Data = lines
		msgs[0].header(nm.Header)
		seq, err = w.s.publish(ctx, nm, expect)
	} else {
		seq, err = w.s.publishBatch(ctx, w.subject, msgs, expect)
	}
	if err != nil {
		return err
	}
	for i, m := range msgs {
		m.seq = seq - uint64(len(msgs)-1-i)
	}
	w.known = msgs[len(msgs)-1]
	w.s.bounds.add(w.subject, w.known)
	return nil
}

// readTorn returns the bytes from..to of the log as it will be once the
// chunks before are appended after tip.
func (w *writer) readTorn(ctx context.Context, from, to int64, tip *msg, before [][]byte) ([]byte, error) {
	var out []byte
	if tip != nil && from < tip.end() {
		b, err := w.readRange(ctx, from, tip.end(), tip)
		if err != nil {
			return nil, err
		}
		out = b
	}
	out = append(out, bytes.Join(before, nil)...)
	return out[max(0, int64(len(out))-(to-from)):], nil
}

// headroom is what a message's headers may take of the payload limit.
const headroom = 1024

// split cuts b into pieces of at most n bytes, after a newline where one
// is in reach.
func split(b []byte, n int) [][]byte {
	if n < 1 {
		n = 1
	}
	var out [][]byte
	for len(b) > n {
		k := n
		if i := bytes.LastIndexByte(b[:n], '\n'); i >= 0 {
			k = i + 1
		}
		out = append(out, b[:k])
		b = b[k:]
	}
	return append(out, b)
}

// Truncate cuts the log to end: the messages past end are deleted, last
// first, so the log is a prefix of itself at every step; a message that
// end falls inside is replaced by its first part.
func (w *writer) Truncate(end int64) error {
	ctx := context.Background()
	w.known = nil
	defer w.s.bounds.drop(w.subject)
	tip, err := w.tip(ctx)
	if err != nil {
		return err
	}
	if tip == nil || end >= tip.end() {
		return nil
	}
	m, err := w.find(ctx, end, tip)
	if err != nil {
		return err
	}
	doomed := []uint64{m.seq}
	for cur := m; cur.seq < tip.seq; {
		if cur, err = w.next(ctx, cur.seq+1); err != nil {
			return err
		}
		if cur == nil {
			break
		}
		doomed = append(doomed, cur.seq)
	}
	for i := len(doomed) - 1; i >= 0; i-- {
		seq := doomed[i]
		err := w.s.retry(ctx, "truncate "+w.subject, func(ctx context.Context) error {
			return w.st.DeleteMsg(ctx, seq)
		})
		if err != nil {
			return fmt.Errorf("truncate %s to %d: %w", w.Name(), end, err)
		}
	}
	if m.start == end {
		return nil
	}
	// Put back the part of the cut message before end.
	prev, err := w.tip(ctx)
	if err != nil {
		return err
	}
	var pos position
	var expect uint64
	if prev != nil {
		pos, expect = prev.pos, prev.seq
	}
	head := m.data[:end-m.start]
	p, err := after(pos, m.start, head, func() ([]byte, error) { return w.readRange(ctx, pos.offset, m.start, prev) })
	if err != nil {
		return err
	}
	nm := nats.NewMsg(w.subject)
	nm.Data = head
	(&msg{start: m.start, torn: m.start - pos.offset, pos: p, appendID: uuid.NewString()}).header(nm.Header)
	if _, err := w.s.publish(ctx, nm, expect); err != nil {
		return fmt.Errorf("truncate %s to %d: %w", w.Name(), end, err)
	}
	return nil
}

// publishBatch publishes msgs on subject as one atomic batch, the first
// expecting the subject's last sequence to be expect, and returns the
// last one's sequence.
func (s *Store) publishBatch(ctx context.Context, subject string, msgs []*msg, expect uint64) (uint64, error) {
	return s.commit(ctx, subject, msgs[len(msgs)-1].appendID, expect, func(ctx context.Context) (uint64, error) {
		batch := uuid.NewString()
		for i, m := range msgs {
			nm := nats.NewMsg(subject)
			nm.Data = m.data
			m.header(nm.Header)
			nm.Header.Set("Nats-Batch-Id", batch)
			nm.Header.Set("Nats-Batch-Sequence", strconv.Itoa(i+1))
			if i == 0 {
				nm.Header.Set("Nats-Expected-Last-Subject-Sequence", strconv.FormatUint(expect, 10))
			}
			if i < len(msgs)-1 {
				if err := s.nc.PublishMsg(nm); err != nil {
					return 0, err
				}
				continue
			}
			nm.Header.Set("Nats-Batch-Commit", "1")
			reply, err := s.nc.RequestMsgWithContext(ctx, nm)
			if err != nil {
				return 0, err
			}
			var ack struct {
				Seq   uint64 `json:"seq"`
				Error *struct {
					ErrCode     uint16 `json:"err_code"`
					Description string `json:"description"`
				} `json:"error"`
			}
			if err := json.Unmarshal(reply.Data, &ack); err != nil {
				return 0, fmt.Errorf("append to %s: bad acknowledgement %q: %w", subject, reply.Data, err)
			}
			if e := ack.Error; e != nil {
				if e.ErrCode == uint16(jetstream.JSErrCodeStreamWrongLastSequence) || e.ErrCode == uint16(jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
					return 0, errWrongLast
				}
				return 0, fmt.Errorf("append to %s: %s (code %d)", subject, e.Description, e.ErrCode)
			}
			return ack.Seq, nil
		}
		return 0, nil
	})
}
