// Command counter is the eventfold-es counter aggregate as a fold handler
// written with the Go handler SDK: two pure functions and a main.
//
//	go build -o counter ./examples/counter/go
//	fold-exec --handler counter=./counter
//
// It answers exactly as counter.jq and counter.sh do.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/fold-es/fold/lib/handler"
)

// State is the counter; the zero State is what a new counter holds.
type State struct {
	Value int64 `json:"value"`
}

// Command is {"type":"Increment"}, {"type":"Decrement"} or {"type":"Reset"}.
type Command struct {
	Type string `json:"type"`
}

// WasReset is the data of a WasReset event.
type WasReset struct {
	Previous int64 `json:"previous"`
}

func decide(s State, c Command) ([]handler.Event, error) {
	switch c.Type {
	case "Increment":
		return []handler.Event{{Type: "Incremented"}}, nil
	case "Decrement":
		if s.Value == 0 {
			return nil, errors.New("counter is already zero, cannot decrement")
		}
		return []handler.Event{{Type: "Decremented"}}, nil
	case "Reset":
		if s.Value == 0 {
			return nil, errors.New("nothing to reset")
		}
		return []handler.Event{{Type: "WasReset", Data: WasReset{Previous: s.Value}}}, nil
	}
	// Quoted as jq quotes it, not as %q would, so all three examples agree
	// byte for byte whatever the type holds.
	return nil, errors.New(`unknown command "` + c.Type + `"`)
}

// evolve ignores events it does not know, so an older handler can read a
// log a newer one wrote.
func evolve(s State, ev handler.Event) State {
	switch ev.Type {
	case "Incremented":
		s.Value++
	case "Decremented":
		s.Value--
	case "WasReset":
		s.Value = 0
	}
	return s
}

func main() {
	agg := handler.Aggregate[State, Command]{Decide: decide, Evolve: evolve}
	if err := handler.ServeAggregate(os.Stdin, os.Stdout, agg); err != nil {
		fmt.Fprintf(os.Stderr, "counter: error: %v\n", err)
		os.Exit(1)
	}
}
