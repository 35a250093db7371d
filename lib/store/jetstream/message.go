package jetstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// The headers every event message carries. Fold-Start is where its bytes
// begin in the log; Fold-Offset, Fold-Hash and Fold-Version are the SPEC
// position just past the last complete line of the log at its end (for a
// message that ends in a newline, as all of fold's do: its end, the hash
// of its last line, that line's version). Fold-Append names the append it
// belongs to, so a writer that lost an acknowledgement can find out
// whether its append landed. Fold-Torn, only on a message that does not
// begin a line (one cut from a line longer than a message), is how many
// bytes of its first line came before it.
const (
	hdrStart   = "Fold-Start"
	hdrOffset  = "Fold-Offset"
	hdrHash    = "Fold-Hash"
	hdrVersion = "Fold-Version"
	hdrAppend  = "Fold-Append"
	hdrTorn    = "Fold-Torn"
)

// position is a SPEC position: just past a complete line.
type position struct {
	offset  int64
	hash    string
	version uint64
}

// msg is one stored message of a stream's subject.
type msg struct {
	seq      uint64
	start    int64
	torn     int64 // bytes of its first line before start
	pos      position
	data     []byte
	appendID string
}

func (m *msg) end() int64 { return m.start + int64(len(m.data)) }

// parseMsg reads a stored message's headers.
func parseMsg(raw *jetstream.RawStreamMsg) (*msg, error) {
	m := &msg{seq: raw.Sequence, data: raw.Data, appendID: raw.Header.Get(hdrAppend)}
	var err error
	num := func(key string) int64 {
		v, perr := strconv.ParseInt(raw.Header.Get(key), 10, 64)
		if perr != nil || v < 0 {
			err = fmt.Errorf("message %d on %s: header %s %s is not an offset", raw.Sequence, record.Quote(raw.Subject), key, record.Quote(raw.Header.Get(key)))
		}
		return v
	}
	m.start = num(hdrStart)
	if raw.Header.Get(hdrTorn) != "" {
		m.torn = num(hdrTorn)
	}
	m.pos.offset = num(hdrOffset)
	m.pos.version = uint64(num(hdrVersion))
	m.pos.hash = raw.Header.Get(hdrHash)
	return m, err
}

// header writes a message's position headers.
func (m *msg) header(h nats.Header) {
	h.Set(hdrStart, strconv.FormatInt(m.start, 10))
	h.Set(hdrOffset, strconv.FormatInt(m.pos.offset, 10))
	h.Set(hdrVersion, strconv.FormatUint(m.pos.version, 10))
	if m.pos.hash != "" {
		h.Set(hdrHash, m.pos.hash)
	}
	if m.appendID != "" {
		h.Set(hdrAppend, m.appendID)
	}
	if m.torn > 0 {
		h.Set(hdrTorn, strconv.FormatInt(m.torn, 10))
	}
}

// after is the position past the last complete line once data is
// appended at end to a log whose last complete line ends at prev. torn
// returns the log's bytes from prev.offset to end (a partial line before
// data), needed only when data completes that line.
func after(prev position, end int64, data []byte, torn func() ([]byte, error)) (position, error) {
	i := bytes.LastIndexByte(data, '\n')
	if i < 0 {
		return prev, nil
	}
	p := position{offset: end + int64(i) + 1, version: prev.version + uint64(bytes.Count(data, []byte{'\n'}))}
	if j := bytes.LastIndexByte(data[:i], '\n'); j >= 0 {
		p.hash = record.Hash(data[j+1 : i])
		return p, nil
	}
	line := data[:i]
	if prev.offset < end {
		head, err := torn()
		if err != nil {
			return p, err
		}
		line = append(head, line...)
	}
	p.hash = record.Hash(line)
	return p, nil
}

// retry runs op until it succeeds, fails for a reason other than the
// servers being unreachable, or the store's Timeout passes. Each try gets
// its own deadline, short at first and longer each time: a cluster leaves
// requests unanswered while it elects a leader, as it does for a stream
// it is still creating, and such a request is better sent again soon.
func (s *Store) retry(ctx context.Context, what string, op func(context.Context) error) error {
	deadline := time.Now().Add(s.cfg.Timeout)
	wait, try := 50*time.Millisecond, 500*time.Millisecond
	for {
		left := time.Until(deadline)
		tctx, cancel := context.WithTimeout(ctx, min(left, try))
		err := op(tctx)
		cancel()
		try = min(2*try, 5*time.Second)
		if err == nil || !unavailable(err) {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s on %s: %w", what, s.loc, ctx.Err())
		}
		if time.Until(deadline) <= 0 {
			return fmt.Errorf("%s on %s: %w for %s: %w", what, s.loc, store.ErrUnavailable, s.cfg.Timeout, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		wait = min(wait*2, time.Second)
	}
}

// unavailable reports whether err means the servers cannot answer now
// (down, unreachable, no leader) rather than that they refused.
func unavailable(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case jetstream.JSErrCodeJetStreamNotEnabled, jetstream.JSErrCodeJetStreamNotEnabledForAccount:
			return false // not a passing state: a server without -js
		}
		// 503: JetStream or the cluster is not available at the moment.
		return apiErr.Code == 503 || apiErr.Code == 408
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrConnectionReconnecting) ||
		errors.Is(err, nats.ErrDisconnected) || errors.Is(err, nats.ErrNoServers) ||
		errors.Is(err, nats.ErrReconnectBufExceeded) || isNetError(err)
}

func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

// conflict reports whether a publish failed its expected last sequence.
func conflict(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) &&
		(apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// last returns the last message on an event subject, nil when there is
// none.
func (s *Store) last(ctx context.Context, st jetstream.Stream, subject string) (*msg, error) {
	raw, err := s.lastRaw(ctx, st, subject)
	if err != nil || raw == nil {
		return nil, err
	}
	return parseMsg(raw)
}

// lastRaw returns the last message on any subject, nil when there is
// none.
func (s *Store) lastRaw(ctx context.Context, st jetstream.Stream, subject string) (*jetstream.RawStreamMsg, error) {
	var raw *jetstream.RawStreamMsg
	err := s.retry(ctx, "read "+subject, func(ctx context.Context) error {
		var err error
		raw, err = st.GetLastMsgForSubject(ctx, subject)
		return err
	})
	if errors.Is(err, jetstream.ErrMsgNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, nil
	}
	return raw, err
}

// next returns the first message on subject at sequence seq or after,
// nil when there is none.
func (s *Store) next(ctx context.Context, st jetstream.Stream, subject string, seq uint64) (*msg, error) {
	var raw *jetstream.RawStreamMsg
	err := s.retry(ctx, "read "+subject, func(ctx context.Context) error {
		var err error
		raw, err = st.GetMsg(ctx, max(seq, 1), jetstream.WithGetMsgSubject(subject))
		return err
	})
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parseMsg(raw)
}

// publish stores m expecting the subject's last sequence to be expect,
// and returns its sequence; a failed expectation is an error wrapping
// store.ErrConflict.
func (s *Store) publish(ctx context.Context, m *nats.Msg, expect uint64) (uint64, error) {
	return s.commit(ctx, m.Subject, m.Header.Get(hdrAppend), expect, func(ctx context.Context) (uint64, error) {
		ack, err := s.js.PublishMsg(ctx, m, jetstream.WithExpectLastSequencePerSubject(expect))
		if conflict(err) {
			return 0, errWrongLast
		}
		if err != nil {
			return 0, err
		}
		return ack.Sequence, nil
	})
}

// errWrongLast is a refused expected last sequence.
var errWrongLast = errors.New("wrong last sequence")

// maxBusy bounds the tries of an append refused while the subject's
// previous message was still being applied.
const maxBusy = 100

// commit runs send, one try of an append to subject expecting its last
// sequence to be expect, through outages (store.retry) and until the
// server's refusal of the expectation is understood. The server refuses
// when another writer appended (a conflict), but also when this very
// append landed on an earlier try whose acknowledgement was lost (the
// last message then carries appendID), and, in a cluster, when the
// subject's previous message was still being applied as this one came
// (its last sequence is then still expect: the append is sent again).
func (s *Store) commit(ctx context.Context, subject, appendID string, expect uint64, send func(context.Context) (uint64, error)) (uint64, error) {
	for attempt := 1; ; attempt++ {
		var seq uint64
		err := s.retry(ctx, "append to "+subject, func(ctx context.Context) error {
			var err error
			seq, err = send(ctx)
			return err
		})
		if !errors.Is(err, errWrongLast) {
			return seq, err
		}
		st, err := s.getStream(ctx)
		if err != nil {
			return 0, err
		}
		last, err := s.lastRaw(ctx, st, subject)
		if err != nil {
			return 0, err
		}
		switch {
		case last != nil && appendID != "" && last.Header.Get(hdrAppend) == appendID:
			return last.Sequence, nil
		case attempt < maxBusy && (last == nil && expect == 0 || last != nil && last.Sequence == expect):
			time.Sleep(time.Duration(min(attempt, 10)) * 200 * time.Microsecond)
			continue
		}
		return 0, fmt.Errorf("append to %s: %w", subject, store.ErrConflict)
	}
}
