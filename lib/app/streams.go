package app

import (
	"bufio"
	"io"
	"slices"
	"strings"

	"github.com/fold-es/fold/lib/record"
)

// ListStreams prints the store's streams (of the given types, or all) as
// {"aggregate_type","instance_id"} lines sorted by type, then id: the one
// listing behind both `fold-exec streams` and `fold-watch --list`. A store
// that does not exist holds none, and is warned about.
func ListStreams(w io.Writer, cm Common, types []string) error {
	if !cm.Store.Exists() {
		cm.WarnNoStore()
		return nil
	}
	ids, err := cm.Store.Streams(types...)
	if err != nil {
		return Fatal(err)
	}
	slices.SortFunc(ids, func(a, b record.StreamID) int {
		if c := strings.Compare(a.Type, b.Type); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	out := bufio.NewWriter(w)
	for _, id := range ids {
		b := append(record.AppendString([]byte(`{"aggregate_type":`), id.Type), `,"instance_id":`...)
		b = append(record.AppendString(b, id.ID), "}\n"...)
		if _, err := out.Write(b); err != nil {
			return OutputError(err)
		}
	}
	return OutputError(out.Flush())
}
