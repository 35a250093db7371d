package store

import (
	"errors"
	"io/fs"
	"path/filepath"
	"sync"
	"time"

	"github.com/fold-es/fold/lib/record"
)

// A scan looks at the size of every selected log and reports those that
// changed since the last, each with its size (Change.Size), which a
// follower compares with how far it has read: the first scan, which knows
// no sizes, reports every log, and costs the follower a comparison per
// stream, not a read. Its period is scanDuty times what the last scan took,
// so scanning costs at most 1/scanDuty of a core: about a second for a
// scan of 1,000 logs, a few minutes for 200,000.
const (
	scanDuty      = 200
	minScanPeriod = time.Second
	maxScanPeriod = 10 * time.Minute
	// racyDir: a directory modified this shortly before it was listed may
	// have changed again within its timestamp's resolution, unseen, so it
	// is listed again next time.
	racyDir = 2 * time.Second
)

// Sizes a scan keeps for a log it could not stat.
const (
	sizeUnknown = -2 // never looked at: reported at the next scan
	sizeMissing = -1 // no log (yet)
)

// scanRequest is what the event loop asks of the scanner.
type scanRequest uint8

const (
	scanAll      scanRequest = 1 << iota // look at every log now, reporting each (notifications were lost)
	scanPeriodic                         // from now on, scan every period: not every stream is watched
)

// scanner is the goroutine that lists the selected streams and scans
// their logs' sizes (see dirWatcher).
type scanner struct {
	d     *dirWatcher
	types map[string]*typeList

	watchReq  chan []record.StreamID // to the event loop: watch these streams
	watchDone chan bool              // its answer: they all fit

	wake chan struct{}
	mu   sync.Mutex
	req  scanRequest
	dirs time.Duration // while polling, how often to look at the directories

	periodic  bool
	period    time.Duration
	minPeriod time.Duration
	top       dirState // streams/, listed for new types
}

// dirState is what the scanner knows of a directory it lists: its
// modification time, when it was last listed, and what that cost.
type dirState struct {
	mtime, at time.Time
	cost      time.Duration
}

// typeList is the streams of one type a scan looks at: every one in the
// type's directory, or those selected by name.
type typeList struct {
	dir   string
	named bool // selected by name: the list is fixed
	dirState
	ids   []string
	sizes []int64
}

func newScanner(d *dirWatcher, minPeriod time.Duration) *scanner {
	s := &scanner{d: d, minPeriod: minPeriod, types: map[string]*typeList{}, watchReq: make(chan []record.StreamID),
		watchDone: make(chan bool), wake: make(chan struct{}, 1), dirs: d.poll}
	for id := range d.sel.Streams {
		if d.sel.WantsType(id.Type) {
			continue
		}
		t := s.typeList(id.Type)
		t.named = true
		t.ids = append(t.ids, id.ID)
		t.sizes = append(t.sizes, sizeUnknown)
	}
	for typ := range d.sel.Types {
		s.typeList(typ)
	}
	return s
}

func (s *scanner) typeList(typ string) *typeList {
	t := s.types[typ]
	if t == nil {
		t = &typeList{dir: filepath.Join(s.d.streams, typ)}
		s.types[typ] = t
	}
	return t
}

// request asks the scanner for a scan (see scanRequest).
func (s *scanner) request(r scanRequest) {
	s.mu.Lock()
	s.req |= r
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// polling makes the scanner look at the directories every interval for
// new streams, as notifications no longer report them.
func (s *scanner) polling(every time.Duration) {
	s.mu.Lock()
	s.dirs = every
	s.mu.Unlock()
	s.request(0)
}

func (s *scanner) run() {
	defer s.d.wg.Done()
	select {
	case <-s.d.settle:
	case <-time.After(settleLimit):
	case <-s.d.done:
		return
	}
	s.start()
	var next *time.Timer
	var tick *time.Ticker
	defer func() {
		if tick != nil {
			tick.Stop()
		}
	}()
	schedule := func() {
		if next != nil {
			next.Stop()
		}
		next = time.NewTimer(s.period)
	}
	if s.periodic {
		schedule()
	}
	for {
		var nextC, tickC <-chan time.Time
		if next != nil {
			nextC = next.C
		}
		s.mu.Lock()
		dirs := s.dirs
		s.mu.Unlock()
		if dirs > 0 && tick == nil {
			tick = time.NewTicker(dirs)
		}
		if tick != nil {
			tickC = tick.C
		}
		select {
		case <-s.d.done:
			return
		case <-nextC:
			s.scan()
			schedule()
		case <-tickC:
			s.refresh(true)
			s.look(func(size int64) bool { return size == sizeUnknown })
		case <-s.wake:
			s.mu.Lock()
			req := s.req
			s.req = 0
			s.mu.Unlock()
			if req&scanPeriodic != 0 && !s.periodic {
				s.periodic = true
				req |= scanAll
			}
			if req&scanAll != 0 {
				s.forget()
				s.scan()
				if s.periodic {
					schedule()
				}
			}
		}
	}
}

// start lists the selected streams once the caller has caught up; when
// they fit in the watch budget the event loop watches each, and a scan
// reports what was appended between the caller's reads and the watches.
// Otherwise scans cover them, periodically.
func (s *scanner) start() {
	s.refresh(false)
	if n := s.count(); s.d.budget != 0 && (s.d.budget < 0 || n <= s.d.budget) {
		ids := make([]record.StreamID, 0, n)
		for typ, t := range s.types {
			for _, id := range t.ids {
				ids = append(ids, record.StreamID{Type: typ, ID: id})
			}
		}
		select {
		case s.watchReq <- ids:
		case <-s.d.done:
			return
		}
		select {
		case ok := <-s.watchDone:
			s.periodic = !ok
		case <-s.d.done:
			return
		}
	} else {
		s.periodic = true
	}
	s.scan()
}

func (s *scanner) count() int {
	n := 0
	for _, t := range s.types {
		n += len(t.ids)
	}
	return n
}

// forget makes the next scan list every directory again and report every
// log.
func (s *scanner) forget() {
	s.top = dirState{}
	for _, t := range s.types {
		t.dirState = dirState{}
		for i := range t.sizes {
			t.sizes[i] = sizeUnknown
		}
	}
}

// scan refreshes the lists and reports every log whose size changed, and
// sets the period from what it cost.
func (s *scanner) scan() {
	start := time.Now()
	s.refresh(false)
	n := s.look(func(int64) bool { return true })
	took := time.Since(start)
	s.mu.Lock()
	dirs := s.dirs
	s.mu.Unlock()
	s.period = min(max(took*scanDuty, s.minPeriod, dirs), maxScanPeriod)
	s.d.log.Debug("scanned the logs", "logs", n, "took", took.String(), "next", s.period.String())
}

// look stats the logs whose last size pick accepts, and reports those
// that changed. It returns how many it looked at.
func (s *scanner) look(pick func(size int64) bool) int {
	const sep = string(filepath.Separator)
	n := 0
	for typ, t := range s.types {
		for i, id := range t.ids {
			if !pick(t.sizes[i]) {
				continue
			}
			if s.d.isDone() {
				return n
			}
			n++
			size := int64(sizeMissing)
			if st, err := s.d.fs.Stat(t.dir + sep + id + sep + "app.jsonl"); err == nil {
				size = st.Size()
			}
			if size == t.sizes[i] {
				continue
			}
			t.sizes[i] = size
			c := Change{Stream: record.StreamID{Type: typ, ID: id}}
			if size > 0 {
				c.Size = size
			}
			s.d.emit(c)
		}
	}
	return n
}

// refresh lists again the directories that may have changed since they
// were listed (stale): streams/ for new types (when every type is
// selected), and the selected types' directories for new streams. paced
// (between scans, while polling) lists a directory no more often than
// scanDuty times what listing it cost: 200,000 streams of a type are
// listed anew about once a minute, however often others are created.
func (s *scanner) refresh(paced bool) {
	if s.d.sel.All && s.stale(s.d.streams, &s.top, paced) {
		entries, err := s.list(s.d.streams, &s.top)
		if err != nil {
			s.d.log.Debug("list stream types", "err", err)
		}
		for _, e := range entries {
			if e.IsDir() && CheckName("aggregate_type", e.Name()) == nil {
				s.typeList(e.Name())
			}
		}
	}
	for typ, t := range s.types {
		if t.named || !s.stale(t.dir, &t.dirState, paced) {
			continue
		}
		entries, err := s.list(t.dir, &t.dirState)
		if err != nil {
			s.d.log.Debug("list streams", "type", typ, "err", err)
			continue
		}
		t.relist(entries, typ, s.d.sel)
	}
}

// stale reports whether dir may hold entries its last listing did not:
// it was never listed, was modified since, or so shortly before that the
// listing may have missed a change bearing the same time (a file system
// that keeps no times is listed every time). paced: not before scanDuty
// times what the last listing cost has passed.
func (s *scanner) stale(dir string, st *dirState, paced bool) bool {
	if st.at.IsZero() {
		return true
	}
	if paced && time.Since(st.at) < st.cost*scanDuty {
		return false
	}
	fi, err := s.d.fs.Stat(dir)
	if err != nil {
		return true // listing it says what is wrong, or that it is gone
	}
	m := fi.ModTime()
	return m.IsZero() || !m.Equal(st.mtime) || st.at.Sub(m) < racyDir
}

// list reads a directory, noting its state: the time it was modified
// before the listing, so a change during it shows as a later one. A
// directory that does not exist lists as empty.
func (s *scanner) list(dir string, st *dirState) ([]fs.DirEntry, error) {
	st.at = time.Now()
	st.mtime = time.Time{}
	if fi, err := s.d.fs.Stat(dir); err == nil {
		st.mtime = fi.ModTime()
	}
	entries, err := s.d.fs.ReadDir(dir)
	st.cost = time.Since(st.at)
	if errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	return entries, err
}

// relist replaces a type's list with a directory's entries, keeping the
// sizes known of the streams that stay.
func (t *typeList) relist(entries []fs.DirEntry, typ string, sel Selection) {
	known := make(map[string]int64, len(t.ids))
	for i, id := range t.ids {
		known[id] = t.sizes[i]
	}
	t.ids, t.sizes = t.ids[:0], t.sizes[:0]
	for _, e := range entries {
		id := record.StreamID{Type: typ, ID: e.Name()}
		if !e.IsDir() || !sel.Wants(id) || CheckStream(id) != nil {
			continue
		}
		size, ok := known[id.ID]
		if !ok {
			size = sizeUnknown
		}
		t.ids = append(t.ids, id.ID)
		t.sizes = append(t.sizes, size)
	}
}

func (d *dirWatcher) isDone() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}
