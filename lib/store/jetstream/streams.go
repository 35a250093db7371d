package jetstream

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/fold-es/fold/lib/record"
)

// listBatch is how many creation records a listing fetches at a time.
const listBatch = 1024

// list reads the creation records of the given types (or all) in the
// order they were stored, which is the order the streams were created.
func (s *Store) list(types []string) ([]record.StreamID, error) {
	ctx := context.Background()
	st, err := s.getStream(ctx)
	if err != nil || st == nil {
		return nil, err
	}
	var filters []string
	for _, t := range types {
		if f := s.subj.prefix + "." + registryToken + "." + escape(t) + ".*"; !slices.Contains(filters, f) {
			filters = append(filters, f)
		}
	}
	if len(filters) == 0 {
		filters = []string{s.subj.prefix + "." + registryToken + ".>"}
	}
	var out []record.StreamID
	err = s.retry(ctx, "list streams", func(ctx context.Context) error {
		out = out[:0]
		return s.readSubjects(ctx, st, filters, func(subject string) error {
			id, _, err := s.subj.parse(subject)
			if err != nil {
				return err
			}
			out = append(out, id)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list streams of %s: %w", s.loc, err)
	}
	s.mu.Lock()
	for _, id := range out {
		s.known[id] = true
	}
	s.mu.Unlock()
	return out, nil
}

// readSubjects calls fn with the subject of each message on filters
// stored now, in stream order, through an ordered consumer that reads
// headers only.
func (s *Store) readSubjects(ctx context.Context, st jetstream.Stream, filters []string, fn func(string) error) error {
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: filters, HeadersOnly: true, InactiveThreshold: 10 * time.Second,
	})
	if err != nil {
		return err
	}
	defer s.dropConsumer(st, cons)
	for {
		batch, err := cons.FetchNoWait(listBatch)
		if err != nil {
			return err
		}
		n, pending := 0, uint64(0)
		for m := range batch.Messages() {
			n++
			if err := fn(m.Subject()); err != nil {
				return err
			}
			if md, err := m.Metadata(); err == nil {
				pending = md.NumPending
			}
		}
		if err := batch.Error(); err != nil {
			return err
		}
		if n == 0 || pending == 0 {
			return nil
		}
	}
}

// dropConsumer deletes a consumer no longer needed; the server would
// drop it once inactive anyway.
func (s *Store) dropConsumer(st jetstream.Stream, cons jetstream.Consumer) {
	if info := cons.CachedInfo(); info != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = st.DeleteConsumer(ctx, info.Name)
	}
}
