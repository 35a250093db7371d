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
	w := &watcher{s: s, filters: s.filters(sel), log: log, out: make(chan store.Change),
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	st, err := s.getStream(context.Background())
	if err != nil {
		return nil, err
	}
	if st != nil {
		if err := w.consume(st, jetstream.DeliverNewPolicy); err != nil {
			return nil, err
		}
	} else {
		go w.await()
	}
	go w.run()
	return w, nil
}

type watcher struct {
	s       *Store
	filters []string
	log     *slog.Logger
	out     chan store.Change
	wake    chan struct{}
	done    chan struct{}
	once    sync.Once

	mu      sync.Mutex
	pending []store.Change
	cc      jetstream.ConsumeContext
	st      jetstream.Stream
	cons    jetstream.Consumer
}

// maxQueued is how many changes a watcher keeps for a slow reader before
// it gives them up for one Change with All set.
const maxQueued = 4096

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
	select {
	case <-w.done:
		cc.Stop()
		w.s.dropConsumer(st, cons)
	default:
		w.cc, w.st, w.cons = cc, st, cons
	}
	return nil
}

// await waits for the store to be created, then reads it from the start.
func (w *watcher) await() {
	t := time.NewTicker(watchPoll)
	defer t.Stop()
	for {
		select {
		case <-w.done:
			return
		case <-t.C:
		}
		st, err := w.s.getStream(context.Background())
		if err != nil || st == nil {
			continue
		}
		if err := w.consume(st, jetstream.DeliverAllPolicy); err != nil {
			w.log.Warn("watch", "store", w.s.loc, "err", err)
			w.queue(store.Change{All: true})
			continue
		}
		return
	}
}

func (w *watcher) message(m jetstream.Msg) {
	id, _, err := w.s.subj.parse(m.Subject())
	if err != nil {
		return
	}
	w.queue(store.Change{Stream: id})
}

func (w *watcher) queue(c store.Change) {
	w.mu.Lock()
	if len(w.pending) >= maxQueued {
		w.pending = append(w.pending[:0], store.Change{All: true})
	} else {
		w.pending = append(w.pending, c)
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// run hands queued changes to the reader from its own goroutine, so the
// consumer never waits for the reader.
func (w *watcher) run() {
	defer close(w.out)
	for {
		select {
		case <-w.wake:
		case <-w.done:
			return
		}
		w.mu.Lock()
		batch := w.pending
		w.pending = nil
		w.mu.Unlock()
		for _, c := range batch {
			select {
			case w.out <- c:
			case <-w.done:
				return
			}
		}
	}
}

func (w *watcher) Changes() <-chan store.Change { return w.out }

func (w *watcher) Close() error {
	w.once.Do(func() {
		w.mu.Lock()
		close(w.done)
		cc, st, cons := w.cc, w.st, w.cons
		w.mu.Unlock()
		if cc != nil {
			cc.Stop()
			w.s.dropConsumer(st, cons)
		}
	})
	return nil
}
