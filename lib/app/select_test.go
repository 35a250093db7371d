package app

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	now := time.Date(2025, 11, 29, 20, 0, 0, 0, time.UTC) // @1764446400
	// Dates without a zone are local time, as date(1) prints them: here
	// five hours east of UTC, wherever the test runs.
	saved := time.Local
	time.Local = time.FixedZone("UTC+5", 5*3600)
	t.Cleanup(func() { time.Local = saved })
	const midnight = 1764446400 - 20*3600 - 5*3600 // 2025-11-29T00:00:00+05:00
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"@1764446400", 1764446400},
		{"@0", 0},
		{"90m", 1764446400 - 90*60},
		{"24h", 1764446400 - 24*3600},
		{"0s", 1764446400},
		{"2025-11-29T20:00:00Z", 1764446400},
		{"2025-11-29T21:00:00+01:00", 1764446400},
		{"2025-11-29", midnight},
		{"2025-11-29 20:00", midnight + 20*3600},
		{"2025-11-29 20:00:05", midnight + 20*3600 + 5},
		{"2025-11-29T20:00", midnight + 20*3600},
		{"2025-11-29T20:00:05", midnight + 20*3600 + 5},
	} {
		got, err := ParseTime(tc.in, now)
		if err != nil || got != tc.want {
			t.Errorf("ParseTime(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	const forms = "give 2026-12-01, 2026-12-01T10:00:00Z, @1764446400 or a duration ago like 90m"
	for _, tc := range []struct{ in, want string }{
		{"@x", `"@x" is not @ and a Unix time`},
		{"@", `"@" is not @ and a Unix time`},
		{"-5m", `"-5m" is a negative duration`},
		{"yesterday", `"yesterday" is not a time: ` + forms},
		{"2025-13-01", `"2025-13-01" is not a time: ` + forms},
		{"", `"" is not a time: ` + forms},
		{"5", `"5" is not a time: ` + forms},
	} {
		got, err := ParseTime(tc.in, now)
		if err == nil || err.Error() != tc.want {
			t.Errorf("ParseTime(%q) = %d, %v; want the error %s", tc.in, got, err, tc.want)
		}
	}
}
