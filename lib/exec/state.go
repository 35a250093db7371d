package exec

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/fold-es/fold/lib/handler"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// State is an instance's state as of a version.
type State struct {
	AggregateType string            `json:"aggregate_type"`
	InstanceID    string            `json:"instance_id"`
	Version       uint64            `json:"version"`
	State         record.RawMessage `json:"state"`
}

// ReadState folds an instance's log into its state without taking the
// writer lock: now, or as of version at (time travel) when at > 0. A
// snapshot is used when it matches the log and is not past at. A torn tail
// is skipped; a corrupt line is an error, since the state would be wrong.
func ReadState(ctx context.Context, st store.Store, pool *handler.Pool, log *slog.Logger, id record.StreamID, at uint64) (State, error) {
	out := State{AggregateType: id.Type, InstanceID: id.ID, State: record.Null}
	if err := store.CheckStream(id); err != nil {
		return out, &Failure{Kind: KindInvalid, Err: err}
	}
	lg, err := st.OpenLog(id)
	if errors.Is(err, store.ErrNoStream) {
		return out, &Failure{Kind: KindInvalid, Err: fmt.Errorf("%w: %s", store.ErrNoStream, id)}
	}
	if err != nil {
		return out, fmt.Errorf("open stream %s: %w", id, err)
	}
	defer lg.Close()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{cfg: Config{Store: st, Routes: map[string]*handler.Pool{id.Type: pool}, Log: log}, jobs: make(chan struct{}, 1)}
	s := &stream{}
	s.init(e, id)
	s.reset()
	if err := s.loadSnapshot(lg); err != nil {
		return out, err
	}
	if at > 0 && s.tail.Version > at {
		s.reset()
	}
	r := replayer{ctx: ctx, s: s, limit: at}
	t, err := lg.Scan(s.tail, -1, r.entry)
	stopped := errors.Is(err, errStop)
	if stopped {
		err = nil
	}
	if err := r.finish(err); err != nil {
		return out, err
	}
	if stopped {
		out.Version = at
	} else {
		out.Version = t.Version
	}
	if at > out.Version {
		return out, &Failure{Kind: KindInvalid, Err: fmt.Errorf("%s has %s; --at-version %d is past its end", id, events(out.Version), at)}
	}
	out.State = s.state
	return out, nil
}

// events says how many events, "1 event" or "3 events".
func events(n uint64) string {
	if n == 1 {
		return "1 event"
	}
	return fmt.Sprintf("%d events", n)
}
