//go:build !linux

package store

import "github.com/fold-es/fold/lib/record"

// TypeStater returns a stat of typ's logs by id: StatLog's.
func (r Root) TypeStater(typ string) (stat func(id string) (LogStat, error), done func()) {
	return func(id string) (LogStat, error) { return r.StatLog(record.StreamID{Type: typ, ID: id}) }, func() {}
}
