package store

import "sync"

// nameSync is the directories in which a creation made names that other
// streams' logs depend on (the type's directory, streams/, the root, the
// root's parent and above, on a root's first stream) and that no flush has
// made durable yet, shared by the writers of one Root. Every flush makes
// them durable along with its own: when two streams are created at once
// in a new root, the one acknowledged first must not rest on the root's
// name that the other's creation made and has not flushed (its flush may
// even fail). It holds a few directories per type at most; a writer's own
// stream directory is the writer's (fileWriter.newDirs), so the set stays
// small however many streams a run creates, even with --sync none, which
// never flushes. A creation holds mu from before it makes names until it
// has noted them, so a flush that takes the pending directories sees every
// name made so far. On Linux a group of four or more is one syncfs,
// whatever it holds. Across processes, an empty log found on open is taken
// as new (its maker may have died before its first flush); a log another
// process made and wrote to with --sync none has names that are durable
// only once the file system writes them back.
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
// takes once they are. It costs a lock and no allocation when there are
// none, as on every flush of a stream that is not new.
func (n *nameSync) pending() (dirs []string, mark uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.dirs) == 0 {
		return nil, n.seq
	}
	dirs = make([]string, 0, len(n.dirs))
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
