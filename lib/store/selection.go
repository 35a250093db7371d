package store

import (
	"slices"

	"github.com/fold-es/fold/lib/record"
)

// Selection is a set of streams: every stream of some types, and some
// streams by name; with neither, every stream. Its sets make a test per
// stream cheap, as readers test 100,000 of them.
type Selection struct {
	All     bool
	Types   map[string]bool
	Streams map[record.StreamID]bool
}

// Select builds the selection of the given types and streams.
func Select(types []string, streams []record.StreamID) Selection {
	sel := Selection{All: len(types) == 0 && len(streams) == 0, Types: map[string]bool{}, Streams: map[record.StreamID]bool{}}
	for _, t := range types {
		sel.Types[t] = true
	}
	for _, id := range streams {
		sel.Streams[id] = true
	}
	return sel
}

// Wants reports whether id is selected.
func (sel Selection) Wants(id record.StreamID) bool {
	return sel.All || sel.Types[id.Type] || sel.Streams[id]
}

// WantsType reports whether every stream of type t is selected.
func (sel Selection) WantsType(t string) bool { return sel.All || sel.Types[t] }

// WantsSomeOf reports whether any stream of type t may be selected.
func (sel Selection) WantsSomeOf(t string) bool {
	if sel.WantsType(t) {
		return true
	}
	for id := range sel.Streams {
		if id.Type == t {
			return true
		}
	}
	return false
}

// TypeList is the types a listing has to look at; nil means all of them.
func (sel Selection) TypeList() []string {
	if sel.All {
		return nil
	}
	out := make([]string, 0, len(sel.Types)+len(sel.Streams))
	for t := range sel.Types {
		out = append(out, t)
	}
	for id := range sel.Streams {
		if !slices.Contains(out, id.Type) {
			out = append(out, id.Type)
		}
	}
	return out
}
