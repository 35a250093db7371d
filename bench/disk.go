package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// rawAppendSync is the disk's limit for durable appends: n writes of a
// 200-byte line to a fresh O_APPEND file, each followed by fdatasync. It
// returns appends per second.
func rawAppendSync(dir string, n int) (float64, error) {
	path := filepath.Join(dir, "raw-append.dat")
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_APPEND|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return 0, err
	}
	defer os.Remove(path)
	defer unix.Close(fd)
	line := make([]byte, 200)
	for i := range line {
		line[i] = 'x'
	}
	line[len(line)-1] = '\n'
	if err := syncfs(fd); err != nil {
		return 0, err
	}
	start := time.Now()
	for range n {
		if _, err := unix.Write(fd, line); err != nil {
			return 0, err
		}
		if err := fdatasync(fd); err != nil {
			return 0, err
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

func fdatasync(fd int) error {
	for {
		err := unix.Fdatasync(fd)
		if err != unix.EINTR {
			return err
		}
	}
}

func syncfs(fd int) error {
	for {
		err := unix.Syncfs(fd)
		if err != unix.EINTR {
			return err
		}
	}
}

// measureSyncfs compares the ways group commit can make many appended
// files durable at once: one syncfs(2) of the filesystem, fdatasyncs from
// many goroutines at once, and fdatasyncs one after another. Each round
// appends 200 bytes to every file and then flushes them all; the time of
// the flush alone is kept, and the median of the rounds reported.
func measureSyncfs(e *Env) error {
	dir, err := e.NewDir("files")
	if err != nil {
		return err
	}
	rounds := e.N(7, 3)
	for _, files := range []int{4, 32, e.N(1000, 100)} {
		fds := make([]int, files)
		for i := range fds {
			fd, err := unix.Open(filepath.Join(dir, fmt.Sprintf("f%05d", i)), unix.O_WRONLY|unix.O_CREAT|unix.O_APPEND|unix.O_CLOEXEC, 0o644)
			if err != nil {
				return err
			}
			fds[i] = fd
		}
		dirfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		// Start from a clean filesystem so the first method does not pay
		// for the files' creation.
		if err := syncfs(dirfd); err != nil {
			return err
		}
		line := make([]byte, 200)
		line[len(line)-1] = '\n'
		workers := min(files, 64)
		methods := []struct {
			name  string
			flush func() error
		}{
			{"1 syncfs", func() error { return syncfs(dirfd) }},
			{fmt.Sprintf("%d fdatasyncs on %d goroutines", files, workers), func() error { return parallelSync(fds, workers) }},
			{fmt.Sprintf("%d fdatasyncs in turn", files), func() error {
				for _, fd := range fds {
					if err := fdatasync(fd); err != nil {
						return err
					}
				}
				return nil
			}},
		}
		times := make([][]time.Duration, len(methods))
		// Interleave the methods round by round, so a burst of load from
		// elsewhere does not fall on one method only.
		for range rounds {
			for mi, m := range methods {
				for _, fd := range fds {
					if _, err := unix.Write(fd, line); err != nil {
						return err
					}
				}
				start := time.Now()
				if err := m.flush(); err != nil {
					return fmt.Errorf("%s: %w", m.name, err)
				}
				times[mi] = append(times[mi], time.Since(start))
			}
		}
		for mi, m := range methods {
			med := median(times[mi])
			e.Add(Row{Measure: fmt.Sprintf("flush %d dirty files: %s (median of %d)", files, m.name, rounds),
				Value: float64(med.Microseconds()) / 1000, Unit: "ms"})
		}
		for _, fd := range fds {
			unix.Close(fd)
		}
		unix.Close(dirfd)
	}
	return nil
}

// parallelSync fdatasyncs every file, workers at a time.
func parallelSync(fds []int, workers int) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for fd := range next {
				if err := fdatasync(fd); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for _, fd := range fds {
		next <- fd
	}
	close(next)
	wg.Wait()
	return first
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
