package pm

import (
	"context"
	"io"
	"log/slog"

	"github.com/fold-es/fold/lib/consumer"
	"github.com/fold-es/fold/lib/handler"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/watch"
)

// RunConfig is one run of a process manager as a program starts it: where
// its records come from and where its commands go.
type RunConfig struct {
	Name     string
	Types    []string
	Handler  handler.Caller
	Saver    Saver // the run's *consumer.Consumer
	Letters  *Letters
	DryRun   bool // nothing dispatched, no dead letter kept
	Batch    int
	Log      *slog.Logger
	Report   func(Failure)       // each dead letter, once kept
	Start    record.Checkpoint   // where the consumer starts
	Dispatch Submitter           // runs the commands in-process (--dispatch), printing their records on Stdout; nil: the commands go to Out
	Stdout   io.Writer           // with Dispatch
	Out      consumer.Downstream // without Dispatch, or in a dry run
	// Stdin, when set, is where records come from (--stdin); else Source,
	// caught up (and with Follow followed).
	Stdin   io.Reader
	Source  *watch.Source
	Follow  bool
	Bad     func(watch.BadLine) // stdin lines that are not records
	MaxLine int                 // the longest stdin line (record.MaxLine)
}

// Start runs a process manager as cfg says and returns it with the error
// that ended the run.
func Start(stop context.Context, cfg RunConfig) (*Manager, error) {
	var sink Sink
	if cfg.Dispatch != nil && !cfg.DryRun {
		d := NewDispatcher(cfg.Dispatch, cfg.Stdout, cfg.Log)
		defer d.Close()
		sink = d
	} else {
		em := NewEmitter(cfg.Out)
		defer em.Close()
		sink = em
	}
	mcfg := Config{Name: cfg.Name, Types: cfg.Types, Handler: cfg.Handler, Sink: sink, Checkpoint: cfg.Saver,
		Batch: cfg.Batch, Log: cfg.Log, OnDeadLetter: cfg.Report}
	if cfg.Letters != nil && !cfg.DryRun {
		mcfg.DeadLetters = Unique{Letters: *cfg.Letters}
	}
	m := New(mcfg, cfg.Start)
	var err error
	switch {
	case cfg.Stdin != nil:
		err = m.Run(stop, watch.Lines(cfg.Stdin, 0, cfg.MaxLine, cfg.Bad))
	case cfg.Follow:
		err = m.Run(stop, cfg.Source.Follow)
	default:
		err = m.CatchUp(stop, cfg.Source)
	}
	if x, ok := cfg.Out.(*consumer.Exec); ok {
		_ = x.Close() // a batch left unconfirmed by an error
	}
	return m, err
}
