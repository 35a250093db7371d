package pm

import (
	"context"
	"fmt"
	"time"

	"github.com/fold-es/fold/lib/exec"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// RetryOutcome is what became of one dead letter sent again.
type RetryOutcome struct {
	Letter    Letter
	Records   []record.Record // the events its command appended
	Duplicate bool            // it had been applied already: done too
	Failure   *exec.Failure   // it failed again and stays a dead letter
}

// Retry sends each dead letter of l again through eng and rewrites l with
// only those that fail again, each with its new error and ts; fn sees every
// outcome in file order. A line that is not a dead letter is kept as it is
// and reported as invalid. Commands keep their command_id, so one that was
// applied after all (a crash before its letter was removed) is dropped as
// a duplicate, which clears it.
//
// The caller holds the process manager's lock, so no run of it appends
// meanwhile. Lines another writer (fold-exec --rejects) appends while Retry
// works are kept; one appended in the instant between that last read and
// the rename would be lost, so do not retry while a pipe writes to the file.
// An I/O failure of the root stops Retry without rewriting anything.
func Retry(ctx context.Context, l Letters, eng Submitter, now func() time.Time, fn func(RetryOutcome) error) (kept int, err error) {
	if now == nil {
		now = time.Now
	}
	letters, end, err := l.Read()
	if err != nil || len(letters) == 0 {
		return 0, err
	}
	pending := make([]*exec.Pending, len(letters))
	for i, lt := range letters {
		if lt.Err != nil {
			continue
		}
		env, err := record.ParseEnvelope(lt.Letter.Envelope, record.EnvelopeDefaults{})
		if err != nil {
			pending[i] = exec.Done(exec.AsFailure(err, exec.KindInvalid))
			continue
		}
		pending[i] = eng.Submit(ctx, env)
	}
	var out []byte
	var fatal error
	for i, lt := range letters {
		o := RetryOutcome{Letter: lt}
		if lt.Err != nil {
			o.Failure = exec.AsFailure(lt.Err, exec.KindInvalid)
			out = append(append(out, lt.Raw...), '\n')
			kept++
		} else {
			res := pending[i].Wait()
			o.Records = res.Records
			switch f := res.Failure; {
			case f == nil:
			case f.Kind == exec.KindDuplicate:
				o.Duplicate = true
			case f.Kind.Fatal():
				if fatal == nil {
					fatal = fmt.Errorf("dead letter on line %d: %w", lt.Line, f)
				}
				continue
			default:
				o.Failure = f
				b, err := record.Marshal(record.DeadLetter{Envelope: lt.Letter.Envelope, Error: f.Error(), Ts: now().Unix()})
				if err != nil {
					return 0, fmt.Errorf("encode dead letter: %w", err)
				}
				out = append(append(out, b...), '\n')
				kept++
			}
		}
		if err := fn(o); err != nil {
			return 0, err
		}
	}
	if fatal != nil {
		return 0, fatal
	}
	more, err := l.readFrom(end)
	if err != nil {
		return 0, err
	}
	kept += len(parseLetters(more, 0))
	out = append(out, more...)
	if err := store.WriteFileAtomic(l.Path, out, true); err != nil {
		return 0, fmt.Errorf("rewrite dead letters: %w", err)
	}
	return kept, nil
}
