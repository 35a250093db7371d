// Command saga is the saga example's handlers written with the Go handler
// SDK, in one binary that serves whichever role fold starts it in: the
// order, inventory and shipping aggregates (FOLD_ROLE=aggregate, by
// FOLD_AGGREGATE_TYPE) and the fulfil process manager
// (FOLD_ROLE=process_manager). Each answers exactly as its jq or sh twin
// in examples/saga does.
//
//	go build -o saga-go ./examples/saga/go
//	fold-pm --name fulfil --subscribe order,inventory --handler ./saga-go |
//	  fold-exec --handler order=./saga-go --handler inventory=./saga-go
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/fold-es/fold/lib/handler"
)

func main() {
	if err := serve(os.Getenv("FOLD_ROLE"), os.Getenv("FOLD_AGGREGATE_TYPE"), os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "saga: error: %v\n", err)
		os.Exit(1)
	}
}

func serve(role, aggType string, in io.Reader, out io.Writer) error {
	switch role {
	case "process_manager":
		return handler.ServeProcessManager(in, out, fulfil)
	case "aggregate":
		switch aggType {
		case "order":
			return handler.ServeAggregate(in, out, handler.Aggregate[Order, Command]{Decide: decideOrder, Evolve: evolveOrder})
		case "inventory":
			return handler.ServeAggregate(in, out, handler.Aggregate[Inventory, Command]{Decide: decideInventory, Evolve: evolveInventory})
		case "shipping":
			return handler.ServeAggregate(in, out, handler.Aggregate[Shipping, Command]{Decide: decideShipping, Evolve: evolveShipping})
		}
		return fmt.Errorf("no aggregate %q here (order, inventory, shipping)", aggType)
	}
	return fmt.Errorf("FOLD_ROLE %q: run me from fold-exec or fold-pm", role)
}
