package watch

import (
	"slices"

	"github.com/fold-es/fold/lib/record"
)

// selection is a Source's Types and Streams as sets.
type selection struct {
	all     bool
	types   map[string]bool
	streams map[record.StreamID]bool
}

func (s *Source) selection() selection {
	sel := selection{all: len(s.Types) == 0 && len(s.Streams) == 0, types: map[string]bool{}, streams: map[record.StreamID]bool{}}
	for _, t := range s.Types {
		sel.types[t] = true
	}
	for _, id := range s.Streams {
		sel.streams[id] = true
	}
	return sel
}

func (sel selection) wants(id record.StreamID) bool {
	return sel.all || sel.types[id.Type] || sel.streams[id]
}

// wantsType reports whether every stream of type t is selected.
func (sel selection) wantsType(t string) bool { return sel.all || sel.types[t] }

// typeList is the types discovery has to look at; nil means all of them.
func (sel selection) typeList() []string {
	if sel.all {
		return nil
	}
	out := make([]string, 0, len(sel.types)+len(sel.streams))
	for t := range sel.types {
		out = append(out, t)
	}
	for id := range sel.streams {
		if !slices.Contains(out, id.Type) {
			out = append(out, id.Type)
		}
	}
	return out
}
