package app

import (
	"context"
	"errors"
	"syscall"

	"github.com/fold-es/fold/lib/consumer"
	"github.com/fold-es/fold/lib/store"
)

// RunExit classifies what ended a consumer's run, for what every consumer
// shares: clean says whether its output went out whole (the input ended,
// a signal stopped it, a limit was reached), and exit is the program's
// exit, nil for none (a clean end, or a reader that went away).
func RunExit(err error) (clean bool, exit error) {
	var ee *consumer.ExecError
	var xe *ExitError
	switch {
	case err == nil, errors.Is(err, context.Canceled), errors.Is(err, consumer.ErrLimit):
		return true, nil
	case errors.Is(err, syscall.EPIPE):
		return false, nil
	case errors.As(err, &ee):
		return false, DeliveryExit(ee)
	case errors.Is(err, store.ErrNoStream):
		return false, &ExitError{Code: ExitFailed, Message: err.Error(), Hint: "list the streams with fold-watch --list"}
	case errors.As(err, &xe):
		return false, xe
	}
	return false, Fatal(err)
}

// EndRun closes a consumer's run, if there is one, with res, and returns
// the program's exit: exit when the run failed (res.Err is then set from
// it, for the consumer's note), a failure to close, or else the status
// of the failures reported along the way.
func EndRun(con *consumer.Consumer, res consumer.Result, cause, exit error, report *Reporter) error {
	if exit != nil && res.Err == nil {
		res.Err = cause
	}
	if con != nil {
		if err := con.Close(res); err != nil && exit == nil {
			exit = Fatal(err)
		}
	}
	if exit != nil {
		return exit
	}
	if s := report.Status(); s != ExitOK {
		return Exit(s)
	}
	return nil
}
