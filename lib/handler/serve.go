package handler

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/fold-es/fold/lib/record"
)

// The SDK's buffers: a request carries a whole batch of events or records,
// so reading in large chunks saves system calls; answers are small.
const (
	serveReadBuf  = 1 << 20
	serveWriteBuf = 64 << 10
)

// serve answers each request line of in with one line on out until in ends.
// Answers are flushed only when no complete request is waiting, so a
// client that pipelines requests gets its answers in few writes, and one
// that waits for each answer gets it at once.
func serve(in io.Reader, out io.Writer, answer func(line []byte) any) error {
	lr := newLineReader(in, serveReadBuf)
	w := bufio.NewWriterSize(out, serveWriteBuf)
	for {
		line, err := lr.next()
		if errors.Is(err, io.EOF) && len(line) > 0 {
			err = nil // a last request without its newline is still one
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return w.Flush()
			}
			if errors.Is(err, errLineTooLong) {
				err = fmt.Errorf("request longer than %d MiB", maxLine>>20)
			}
			return errors.Join(fmt.Errorf("read request: %w", err), w.Flush())
		}
		if len(line) == 0 {
			continue
		}
		b, err := record.Marshal(answer(line))
		if err != nil {
			b, err = record.Marshal(errorAnswer{Error: "encode answer: " + err.Error()})
			if err != nil {
				return fmt.Errorf("encode answer: %w", err)
			}
		}
		if _, err := w.Write(append(b, '\n')); err != nil {
			return fmt.Errorf("write answer: %w", err)
		}
		if !lr.completeLineBuffered() {
			if err := w.Flush(); err != nil {
				return fmt.Errorf("write answer: %w", err)
			}
		}
	}
}

// errorAnswer is a rejection for handle; for the other ops fold takes it as
// a failed request, which is what a request the handler cannot read is.
type errorAnswer struct {
	Error string `json:"error"`
}

func errorf(format string, args ...any) errorAnswer {
	return errorAnswer{Error: fmt.Sprintf(format, args...)}
}

// decodeReason drops the codec's "json: " prefix, which says nothing to a
// reader of fold's messages.
func decodeReason(err error) string {
	return strings.TrimPrefix(err.Error(), "json: ")
}

func unknownOp(op string) errorAnswer { return errorf("unknown op %q", op) }

// decodeState decodes a state; null, which fold sends until the handler
// first returns a state, is the zero S.
func decodeState[S any](raw record.RawMessage, s *S) error {
	if record.IsNull(raw) {
		return nil
	}
	return record.Unmarshal(raw, s)
}

type stateOnly[S any] struct {
	State S `json:"state"`
}

// ServeProjection serves project requests from in to out until in ends,
// folding each record onto the state with project.
func ServeProjection[S any](in io.Reader, out io.Writer, project func(state S, rec record.Record) S) error {
	return serve(in, out, func(line []byte) any {
		var req struct {
			Op      string            `json:"op"`
			State   record.RawMessage `json:"state"`
			Records []record.Record   `json:"records"`
		}
		if err := record.Unmarshal(line, &req); err != nil {
			return errorf("decode request: %s", decodeReason(err))
		}
		if req.Op != OpProject {
			return unknownOp(req.Op)
		}
		var state S
		if err := decodeState(req.State, &state); err != nil {
			return errorf("decode state: %s", decodeReason(err))
		}
		for _, rec := range req.Records {
			state = project(state, rec)
		}
		return stateOnly[S]{State: state}
	})
}

type reactAnswer[S any] struct {
	State    S               `json:"state"`
	Commands []taggedCommand `json:"commands"`
}

// taggedCommand is a command with the index of the record that caused it,
// so fold-pm --batch can send many records in one request and still give
// each command the id of its own record.
type taggedCommand struct {
	record.Envelope
	Record int `json:"record"`
}

// ServeProcessManager serves react requests from in to out until in ends:
// react folds each record onto the state and returns the commands it
// wants dispatched. Each command in the answer carries "record", the index
// of the record that caused it, which lets fold-pm --batch send many
// records per request.
func ServeProcessManager[S any](in io.Reader, out io.Writer, react func(state S, rec record.Record) (S, []record.Envelope)) error {
	return serve(in, out, func(line []byte) any {
		var req struct {
			Op      string            `json:"op"`
			State   record.RawMessage `json:"state"`
			Records []record.Record   `json:"records"`
		}
		if err := record.Unmarshal(line, &req); err != nil {
			return errorf("decode request: %s", decodeReason(err))
		}
		if req.Op != OpReact {
			return unknownOp(req.Op)
		}
		var state S
		if err := decodeState(req.State, &state); err != nil {
			return errorf("decode state: %s", decodeReason(err))
		}
		ans := reactAnswer[S]{Commands: []taggedCommand{}}
		for i, rec := range req.Records {
			var cmds []record.Envelope
			state, cmds = react(state, rec)
			for _, c := range cmds {
				ans.Commands = append(ans.Commands, taggedCommand{Envelope: c, Record: i})
			}
		}
		ans.State = state
		return ans
	})
}
