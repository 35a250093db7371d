// Command totals is a projection handler written with the Go handler SDK:
// it counts events per event type across every stream it is fed.
//
//	go build -o totals ./examples/totals/go
//	fold-project --name totals --handler ./totals
//
// State is {"counts":{"Incremented":6,...},"events":N}. It is also the
// handler the projection throughput benchmark runs.
package main

import (
	"fmt"
	"os"

	"github.com/fold-es/fold/lib/handler"
	"github.com/fold-es/fold/lib/record"
)

// State is the projection; the zero State is what it starts from.
type State struct {
	Counts map[string]int64 `json:"counts"`
	Events int64            `json:"events"`
}

// eventType is the part of an event line the projection reads.
type eventType struct {
	Type string `json:"type"`
}

// project counts one record. A record whose event cannot be read counts
// under "" rather than failing the batch: a projection should not stop on
// what it does not understand.
func project(s State, r record.Record) State {
	if s.Counts == nil {
		s.Counts = map[string]int64{}
	}
	var ev eventType
	_ = record.Unmarshal(r.Event, &ev)
	s.Counts[ev.Type]++
	s.Events++
	return s
}

func main() {
	if err := handler.ServeProjection(os.Stdin, os.Stdout, project); err != nil {
		fmt.Fprintf(os.Stderr, "totals: error: %v\n", err)
		os.Exit(1)
	}
}
