package exec

import (
	"context"
	"errors"

	"github.com/fold-es/fold/lib/eventlog"
	"github.com/fold-es/fold/lib/record"
)

// replayBatch bounds an apply request: events per request and bytes.
const (
	replayBatchEvents = 4096
	replayBatchBytes  = 1 << 20
)

// headRoom is the space kept in front of a batch's lines for the head of
// its apply request, which names the state and so is known only once the
// batch before is applied: a state that fits costs no copy of the batch.
const headRoom = 4 << 10

// replayer feeds scanned log lines to the handler's apply in batches and
// notes the ids the stream's dedup sets track. While the handler applies
// one batch, the next is read: each request needs the state the one
// before it answered, but reading the log and applying overlap, so a
// replay takes about the longer of the two rather than their sum. Two
// buffers of a batch each are all it holds, and only so many replays run
// at once (Engine.replays): it waits for its turn at its first line.
type replayer struct {
	ctx   context.Context
	s     *stream
	limit uint64 // stop after this version; 0 no limit

	batch    []byte // headRoom bytes, then the batch's lines separated by commas
	n        int    // lines in batch
	spare    []byte // the other buffer, once the apply in flight gave it back
	inflight chan applied
	turn     bool // it holds one of Engine.replays
}

// applied is what an apply sent by the replayer came back with.
type applied struct {
	state record.RawMessage
	err   error
	buf   []byte
}

var errStop = errors.New("stop")

func (r *replayer) entry(en eventlog.Entry) error {
	if en.Err != nil {
		return &Failure{Kind: KindCorrupt, Err: en.Err}
	}
	if r.limit > 0 && en.Version > r.limit {
		return errStop
	}
	r.s.noteIDs(en.Line)
	if !r.s.hasState() {
		return nil
	}
	if !r.turn && r.s.e.replays != nil {
		select {
		case r.s.e.replays <- struct{}{}:
			r.turn = true
		case <-r.ctx.Done():
			return r.ctx.Err()
		}
	}
	if r.n == 0 {
		if cap(r.batch) < headRoom {
			r.batch = make([]byte, headRoom, 2*headRoom)
		}
		r.batch = r.batch[:headRoom]
	} else {
		r.batch = append(r.batch, ',')
	}
	r.batch = append(r.batch, en.Line...)
	r.n++
	if r.n >= replayBatchEvents || len(r.batch) >= replayBatchBytes {
		return r.send()
	}
	return nil
}

// send starts applying the batch, once the batch before is applied.
func (r *replayer) send() error {
	if err := r.wait(); err != nil {
		return err
	}
	head := appendApplyHead(nil, r.s.id, r.s.state)
	r.batch = append(r.batch, "]}"...)
	var req []byte
	if len(head) <= headRoom {
		req = r.batch[headRoom-len(head):]
		copy(req, head)
	} else {
		req = append(head, r.batch[headRoom:]...)
	}
	done := make(chan applied, 1)
	r.inflight = done
	buf := r.batch
	r.batch, r.spare, r.n = r.spare, nil, 0
	go func() {
		st, err := r.s.applyRequest(r.ctx, req)
		done <- applied{state: st, err: err, buf: buf}
	}()
	return nil
}

// wait waits for the apply in flight, if any, and takes its state.
func (r *replayer) wait() error {
	if r.inflight == nil {
		return nil
	}
	a := <-r.inflight
	r.inflight, r.spare = nil, a.buf
	if a.err != nil {
		return a.err
	}
	r.s.state = a.state
	return nil
}

// finish ends a replay whose scan ended with err: unless it failed, the
// last batch is applied; either way nothing is left in flight. It returns
// the first error.
func (r *replayer) finish(err error) error {
	if err == nil && r.n > 0 {
		err = r.send()
	}
	if werr := r.wait(); err == nil {
		err = werr
	}
	if r.turn {
		<-r.s.e.replays
		r.turn = false
	}
	r.batch, r.spare = nil, nil
	return err
}
