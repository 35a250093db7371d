package jetstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

var _ store.Ordered = (*Store)(nil)

// ReadOrdered reads the selected streams' messages in the order the
// server stored them, through an ordered consumer, and passes their lines
// on with the positions their headers give. A line cut across two
// messages (longer than a message) is put back together from what the
// earlier message left.
func (s *Store) ReadOrdered(ctx context.Context, sel store.Selection, follow bool, fn func(record.StreamID, eventlog.Entry) error, caughtUp func() error) error {
	st, err := s.getStream(ctx)
	if err != nil {
		return err
	}
	if st == nil { // not created yet: nothing to read now
		if err := caughtUp(); err != nil || !follow {
			return err
		}
		if st, err = s.awaitStream(ctx); err != nil {
			return err
		}
	}
	var filters []string
	for _, f := range s.filters(sel) {
		if !strings.HasPrefix(f, s.subj.prefix+"."+registryToken+".") {
			filters = append(filters, f)
		}
	}
	if sel.All {
		filters = []string{s.subj.prefix + ".*.*"}
	}
	var cons jetstream.Consumer
	err = s.retry(ctx, "read in order", func(ctx context.Context) error {
		var err error
		cons, err = st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: filters})
		return err
	})
	if err != nil {
		return err
	}
	defer s.dropConsumer(st, cons)
	if info := cons.CachedInfo(); info != nil && info.NumPending == 0 {
		if err := caughtUp(); err != nil || !follow {
			return err
		}
	}
	it, err := cons.Messages()
	if err != nil {
		return err
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	carry := map[string][]byte{} // per subject: the bytes of a line not yet complete
	for {
		m, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("read %s in order: %w", s.loc, err)
		}
		if err := s.orderedLines(m, carry, fn); err != nil {
			return err
		}
		if md, err := m.Metadata(); err == nil && md.NumPending == 0 {
			if err := caughtUp(); err != nil || !follow {
				return err
			}
		}
	}
}

// orderedLines passes on the lines of one message.
func (s *Store) orderedLines(m jetstream.Msg, carry map[string][]byte, fn func(record.StreamID, eventlog.Entry) error) error {
	id, events, err := s.subj.parse(m.Subject())
	if err != nil || !events {
		return nil
	}
	mm, err := parseMsg(&jetstream.RawStreamMsg{Subject: m.Subject(), Header: m.Headers(), Data: m.Data()})
	if err != nil {
		return err
	}
	head := carry[m.Subject()]
	base := mm.start - int64(len(head))
	data := append(head, mm.data...)
	from := eventlog.Tail{Offset: base, LastStart: -1, Version: mm.pos.version - uint64(bytes.Count(mm.data, []byte{'\n'}))}
	tail, err := eventlog.ScanAt(offsetReader{base: base, b: data}, s.loc+":"+m.Subject(), from, -1, func(e eventlog.Entry) error {
		return fn(id, e)
	})
	if err != nil {
		return err
	}
	if tail.Torn > 0 {
		carry[m.Subject()] = bytes.Clone(data[len(data)-int(tail.Torn):])
	} else {
		delete(carry, m.Subject())
	}
	return nil
}

// offsetReader reads b as the bytes of a log from offset base on.
type offsetReader struct {
	base int64
	b    []byte
}

func (r offsetReader) ReadAt(p []byte, off int64) (int, error) {
	i := off - r.base
	if i < 0 {
		return 0, errors.New("read before the buffer")
	}
	if i >= int64(len(r.b)) {
		return 0, io.EOF
	}
	n := copy(p, r.b[i:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// awaitStream waits for the store's stream to be created.
func (s *Store) awaitStream(ctx context.Context) (jetstream.Stream, error) {
	for {
		st, err := s.getStream(ctx)
		if err != nil || st != nil {
			return st, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(watchPoll):
		}
	}
}
