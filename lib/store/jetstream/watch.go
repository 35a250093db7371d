package jetstream

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/fold-es/fold/lib/store"
)

// filters are the subjects of the selected streams: their events and
// their creation records.
func (s *Store) filters(sel store.Selection) []string {
	if sel.All {
		return []string{s.subj.all()}
	}
	var out []string
	reg := s.subj.prefix + "." + registryToken + "."
	for t := range sel.Types {
		out = append(out, s.subj.prefix+"."+escape(t)+".*", reg+escape(t)+".*")
	}
	for id := range sel.Streams {
		if !sel.Types[id.Type] {
			out = append(out, s.subj.events(id), s.subj.created(id))
		}
	}
	return out
}

// watchPoll is how often a watch of a store not created yet looks for it.
const watchPoll = 100 * time.Millisecond

// Watch reports appends to and creations of the selected streams, from
// an ordered consumer of their subjects that reads headers only. On a
// store not created yet it waits for the stream, then reads it from its
// first message, so the first streams are reported too.
func (s *Store) Watch(sel store.Selection, log *slog.Logger) (store.Watcher, error) {
	w := &watcher{s: s, filters: s.filters(sel), log: log}
	w.ChangeQueue = store.NewChangeQueue(w.stop)
	st, err := s.getStream(context.Background())
	if err != nil {
		_ = w.Close()
		return nil, err
	}
	if st != nil {
		if err := w.consume(st, jetstream.DeliverNewPolicy); err != nil {
			_ = w.Close()
			return nil, err
		}
	} else {
		go w.await()
	}
	return w, nil
}

// watcher queues the changes its consumer sees.
type watcher struct {
	*store.ChangeQueue
	s       *Store
	filters []string
	log     *slog.Logger

	mu      sync.Mutex
	stopped bool
	cc      jetstream.ConsumeContext
	st      jetstream.Stream
	cons    jetstream.Consumer
}

func (w *watcher) consume(st jetstream.Stream, from jetstream.DeliverPolicy) error {
	var cons jetstream.Consumer
	err := w.s.retry(context.Background(), "watch", func(ctx context.Context) error {
		var err error
		cons, err = st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
			FilterSubjects: w.filters, DeliverPolicy: from, HeadersOnly: true,
		})
		return err
	})
	if err != nil {
		return err
	}
	cc, err := cons.Consume(w.message, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		w.log.Debug("watch", "store", w.s.loc, "err", err)
	}))
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		cc.Stop()
		w.s.dropConsumer(st, cons)
		return nil
	}
	w.cc, w.st, w.cons = cc, st, cons
	return nil
}

// await waits for the store to be created, then reads it from the start.
func (w *watcher) await() {
	t := time.NewTicker(watchPoll)
	defer t.Stop()
	for {
		select {
		case <-w.Closed():
			return
		case <-t.C:
		}
		st, err := w.s.getStream(context.Background())
		if err != nil || st == nil {
			continue
		}
		if err := w.consume(st, jetstream.DeliverAllPolicy); err != nil {
			w.log.Warn("watch", "store", w.s.loc, "err", err)
			w.Queue(store.Change{All: true})
			continue
		}
		return
	}
}

func (w *watcher) message(m jetstream.Msg) {
	if id, _, err := w.s.subj.parse(m.Subject()); err == nil {
		w.Queue(store.Change{Stream: id})
	}
}

// stop ends the consumer, when the queue is closed.
func (w *watcher) stop() {
	w.mu.Lock()
	w.stopped = true
	cc, st, cons := w.cc, w.st, w.cons
	w.mu.Unlock()
	if cc != nil {
		cc.Stop()
		w.s.dropConsumer(st, cons)
	}
}
