package store

import (
	"io/fs"
	"syscall"
	"time"
)

// changeTime is fi's status change time, zero when fi does not come from
// the OS (an in-memory file system in tests).
func changeTime(fi fs.FileInfo) time.Time {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return time.Time{}
	}
	return time.Unix(st.Ctim.Sec, st.Ctim.Nsec)
}
