package crashfs

import "math/rand/v2"

// PowerCut returns what the disk may hold if the power went now, as a new
// file system with all of it durable: everything synced, and of the rest,
// for each file and each directory a prefix of its changes in the order
// they were made, chosen with rng (the last write kept possibly torn part
// way). With rng nil nothing unsynced is kept.
func (f *FS) PowerCut(rng *rand.Rand) *FS {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.powerCutLocked(rng)
}

func (f *FS) powerCutLocked(rng *rand.Rand) *FS {
	c := cutter{rng: rng, made: map[*node]*node{}}
	return &FS{root: c.node(f.root), noExchange: f.noExchange}
}

// cutter builds the nodes that survive a cut, once per node: a node under
// two names (a rename whose halves were in different directories) stays
// one node.
type cutter struct {
	rng  *rand.Rand
	made map[*node]*node
}

// keep picks how many of n changes survive.
func (c *cutter) keep(n int) int {
	if c.rng == nil || n == 0 {
		return 0
	}
	return c.rng.IntN(n + 1)
}

func (c *cutter) node(n *node) *node {
	if m := c.made[n]; m != nil {
		return m
	}
	if n.dir {
		ents := make(map[string]*node, len(n.durEnts))
		for k, v := range n.durEnts {
			ents[k] = v
		}
		for _, d := range n.dirOps[:c.keep(len(n.dirOps))] {
			d.applyTo(ents)
		}
		m := newDir()
		c.made[n] = m
		for k, v := range ents {
			m.entries[k] = c.node(v)
			m.durEnts[k] = m.entries[k]
		}
		return m
	}
	data := append([]byte(nil), n.durable...)
	k := c.keep(len(n.writes))
	for _, w := range n.writes[:k] {
		data = w.applyTo(data)
	}
	if k < len(n.writes) && c.rng != nil && c.rng.IntN(2) == 0 {
		if w := n.writes[k]; w.size < 0 && len(w.data) > 1 {
			w.data = w.data[:1+c.rng.IntN(len(w.data)-1)] // torn
			data = w.applyTo(data)
		}
	}
	m := &node{data: data, durable: append([]byte(nil), data...)}
	c.made[n] = m
	return m
}
