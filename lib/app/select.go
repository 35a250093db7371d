package app

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/fold-es/fold/lib/record"
)

// SelectFlags narrow what fold-watch prints, past the streams chosen.
func SelectFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "since", Usage: "only events whose ts is at or after `TIME`: 2026-12-01, 2026-12-01T10:00:00Z, a Unix time @1764446400, or a duration ago (90m, 24h)"},
		&cli.StringFlag{Name: "from-version", Usage: "with one --stream, only its records from version `N` on"},
		&cli.StringFlag{Name: "limit", Aliases: []string{"n"}, Usage: "stop after `N` records (a durable consumer resumes after them)"},
	}
}

// Selection reads SelectFlags: which records to keep (nil: all) and how
// many to print at most (0: no limit).
func Selection(c *cli.Context, streams int, now time.Time) (keep func(record.Record) bool, limit int64, err error) {
	var keeps []func(record.Record) bool
	if v := c.String("since"); c.IsSet("since") {
		since, err := ParseTime(v, now)
		if err != nil {
			return nil, 0, UsageError("--since: " + err.Error())
		}
		keeps = append(keeps, func(r record.Record) bool {
			var ev struct {
				Ts int64 `json:"ts"`
			}
			return record.Unmarshal(r.Event, &ev) == nil && ev.Ts >= since
		})
	}
	if v := c.String("from-version"); c.IsSet("from-version") {
		from, err := strconv.ParseUint(v, 10, 64)
		switch {
		case err != nil || from == 0:
			return nil, 0, UsageError(fmt.Sprintf("--from-version %s is not a version (versions are whole numbers from 1)", record.Quote(v)))
		case streams != 1:
			return nil, 0, &ExitError{Code: ExitUsage, Message: "--from-version needs exactly one --stream",
				Hint: "versions count the events of one stream: give --stream TYPE/ID"}
		}
		keeps = append(keeps, func(r record.Record) bool { return r.Version >= from })
	}
	if v := c.String("limit"); c.IsSet("limit") {
		if limit, err = strconv.ParseInt(v, 10, 64); err != nil || limit < 1 {
			return nil, 0, UsageError(fmt.Sprintf("--limit %s is not a positive number", record.Quote(v)))
		}
	}
	switch len(keeps) {
	case 0:
		return nil, limit, nil
	case 1:
		return keeps[0], limit, nil
	}
	return func(r record.Record) bool { return keeps[0](r) && keeps[1](r) }, limit, nil
}

// ParseTime reads a point in time as a user writes it, into Unix
// seconds: RFC 3339, a date or a date and time (local time, as date(1)
// prints), "@" and Unix seconds, or a duration before now.
func ParseTime(v string, now time.Time) (int64, error) {
	if s, ok := strings.CutPrefix(v, "@"); ok {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s is not @ and a Unix time", record.Quote(v))
		}
		return n, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		if d < 0 {
			return 0, fmt.Errorf("%s is a negative duration", record.Quote(v))
		}
		return now.Add(-d).Unix(), nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.Unix(), nil
	}
	for _, layout := range []string{"2006-01-02", "2006-01-02 15:04", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t.Unix(), nil
		}
	}
	return 0, fmt.Errorf("%s is not a time: give 2026-12-01, 2026-12-01T10:00:00Z, @1764446400 or a duration ago like 90m", record.Quote(v))
}
