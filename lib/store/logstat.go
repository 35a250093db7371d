package store

import (
	"errors"
	"io/fs"
	"time"

	"github.com/fold-es/fold/lib/record"
)

// LogStat is what a stat of a stream's log tells a reader that holds a
// cursor in it, without opening it.
type LogStat struct {
	Size int64
	// Changed is the log's status change time (ctime): a write, a
	// truncate, a rename or a copy moves it to the time it happened, and
	// no one can set it back (touch and cp -p set the modification time,
	// not this). Zero when the file system does not tell.
	Changed time.Time
}

// LogStater is a Store that can stat a stream's log: one system call,
// where checking a cursor against the log's last line costs three (open,
// read, close). A catch-up over 100,000 streams with nothing new spends
// most of its time there.
type LogStater interface {
	// StatLog returns an error wrapping ErrNoStream when the log does not
	// exist, and one that is not a regular file is not a log to stat.
	StatLog(id record.StreamID) (LogStat, error)
	// TypeStater returns StatLog for the logs of one type, by id, for a
	// caller about to stat many of them, cheaper per call where it can
	// be; done releases what it holds. stat may be called concurrently.
	TypeStater(typ string) (stat func(id string) (LogStat, error), done func())
}

// StatLog stats id's log (see LogStater).
func (r Root) StatLog(id record.StreamID) (LogStat, error) {
	fi, err := r.fs().Stat(r.LogPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return LogStat{}, NoStreamError(id, err)
	}
	if err != nil {
		return LogStat{}, err
	}
	if !fi.Mode().IsRegular() {
		return LogStat{}, errors.New("the log is not a regular file")
	}
	return LogStat{Size: fi.Size(), Changed: changeTime(fi)}, nil
}
