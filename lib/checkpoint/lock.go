package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"

	"github.com/fold-es/fold/lib/record"
)

// ErrBusy marks a checkpoint whose lock another run held for longer than
// the caller was willing to wait. It is retryable: run again later.
var ErrBusy = errors.New("checkpoint in use")

// BusyError names the lock and how long it was waited for.
type BusyError struct {
	Path    string // the lock file
	Timeout time.Duration
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("lock %s is held by another run (waited %s)", record.Quote(e.Path), e.Timeout)
}

// Unwrap lets callers test errors.Is(err, ErrBusy).
func (e *BusyError) Unwrap() error { return ErrBusy }

// lockRetry is how often a held lock is tried again. The lock is held for
// whole runs, so there is no point in trying more often.
const lockRetry = 20 * time.Millisecond

// Lock takes the exclusive lock on the checkpoint (flock on the lock file
// beside it, created with its directory when missing), waiting up to
// timeout while another run holds it; then it fails with a *BusyError. The
// lock is released by unlock, or by the process ending, so a crashed run
// never leaves it held.
func (f File) Lock(ctx context.Context, timeout time.Duration) (unlock func() error, err error) {
	path := f.LockPath()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lock checkpoint: %w", err)
	}
	fl := flock.New(path, flock.SetPermissions(0o644))
	// One try first: a zero timeout means "do not wait", not "fail".
	ok, err := fl.TryLock()
	if !ok && err == nil && timeout > 0 {
		wait, cancel := context.WithTimeout(ctx, timeout)
		ok, err = fl.TryLockContext(wait, lockRetry)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = nil
		}
	}
	if err != nil {
		_ = fl.Close()
		return nil, fmt.Errorf("lock checkpoint %s: %w", record.Quote(path), err)
	}
	if !ok {
		_ = fl.Close()
		return nil, &BusyError{Path: path, Timeout: timeout}
	}
	return fl.Close, nil
}
