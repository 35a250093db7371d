package store

import (
	"sync"
)

// nameSync is the directories in which names were made for new streams
// (their logs, their directories, the root's on its first stream) that
// no flush has made durable yet, shared by the writers of one Root. A new
// stream's first flush makes all of them durable, not only its own: when
// two streams are created at once in a new root, the one acknowledged
// first must not rest on the root's name that the other's creation made
// and has not flushed (its flush may even fail). A creation holds mu from
// before it makes names until it has noted them, so a flush that takes the
// pending directories sees every name made so far. On Linux a group of
// four or more is one syncfs, whatever it holds; across processes (on
// other platforms) a stream made by a process that died before its first
// flush may be built on by another process before its names are durable.
type nameSync struct {
	mu   sync.Mutex
	seq  uint64
	dirs map[string]uint64 // directory → seq of its latest change
}

// addLocked notes directories whose entries changed. n.mu is held, from
// before the names were made.
func (n *nameSync) addLocked(dirs []string) {
	if n.dirs == nil {
		n.dirs = map[string]uint64{}
	}
	n.seq++
	for _, d := range dirs {
		n.dirs[d] = n.seq
	}
}

// pending returns the directories not yet synced, and the mark that done
// takes once they are.
func (n *nameSync) pending() (dirs []string, mark uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for d := range n.dirs {
		dirs = append(dirs, d)
	}
	return dirs, n.seq
}

// done drops the directories a flush that began at mark has synced,
// unless a name was made in one since: that flush may have missed it.
func (n *nameSync) done(dirs []string, mark uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, d := range dirs {
		if n.dirs[d] <= mark {
			delete(n.dirs, d)
		}
	}
}
