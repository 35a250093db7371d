package exec

import (
	"strconv"

	"github.com/fold-es/fold/lib/record"
)

// The handle and apply requests are built by hand, not through the JSON
// encoder: they are on every command's and every replay's path, and their
// parts (state, command, event lines) are already JSON that the encoder
// would only check again. Their shape is handler.HandleRequest and
// handler.ApplyRequest.

// appendHandleRequest appends a handle request for env on state at version.
func appendHandleRequest(dst []byte, id record.StreamID, version uint64, state []byte, env record.Envelope) ([]byte, error) {
	dst = append(dst, `{"op":"handle","aggregate_type":`...)
	dst = record.AppendString(dst, id.Type)
	dst = append(dst, `,"instance_id":`...)
	dst = record.AppendString(dst, id.ID)
	dst = append(dst, `,"version":`...)
	dst = strconv.AppendUint(dst, version, 10)
	dst = append(dst, `,"state":`...)
	dst = appendValue(dst, state)
	dst = append(dst, `,"command":`...)
	dst = appendValue(dst, env.Command)
	dst = append(dst, `,"context":`...)
	if env.Context.IsZero() {
		dst = append(dst, "{}"...)
	} else {
		ctx, err := record.Marshal(env.Context)
		if err != nil {
			return nil, err
		}
		dst = append(dst, ctx...)
	}
	return append(dst, '}'), nil
}

// appendApplyRequest appends an apply request folding events (stored event
// lines) onto state.
func appendApplyRequest(dst []byte, id record.StreamID, state []byte, events [][]byte) []byte {
	dst = appendApplyHead(dst, id, state)
	for i, ev := range events {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, ev...)
	}
	return append(dst, "]}"...)
}

// appendValue appends a JSON value, null when absent.
func appendValue(dst, v []byte) []byte {
	if len(v) == 0 {
		return append(dst, "null"...)
	}
	return append(dst, v...)
}

// appendApplyHead appends an apply request up to its events: what comes
// before the first one.
func appendApplyHead(dst []byte, id record.StreamID, state []byte) []byte {
	dst = append(dst, `{"op":"apply","aggregate_type":`...)
	dst = record.AppendString(dst, id.Type)
	dst = append(dst, `,"instance_id":`...)
	dst = record.AppendString(dst, id.ID)
	dst = append(dst, `,"state":`...)
	dst = appendValue(dst, state)
	return append(dst, `,"events":[`...)
}
