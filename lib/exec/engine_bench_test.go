package exec

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkManyInstances submits commands round-robin over 1,000
// instances with --sync none: the engine's own overhead, not the disk's.
func BenchmarkManyInstances(b *testing.B) {
	fx := newFixture(&testing.T{})
	fx.root.Dir = b.TempDir()
	e := New(Config{Store: fx.root, Routes: fx.pools, Sync: SyncNone, SnapshotEvery: 100, LockTimeout: 5e9, MaxActors: 2048, Jobs: 2})
	defer e.Close()
	ctx := context.Background()
	ps := make([]*Pending, 0, 4096)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ps = append(ps, e.Submit(ctx, cmd(fmt.Sprint("i", i%1000), `{"type":"Increment"}`)))
		if len(ps) == cap(ps) {
			for _, p := range ps {
				if r := p.Wait(); r.Failure != nil {
					b.Fatal(r.Failure)
				}
			}
			ps = ps[:0]
		}
	}
	for _, p := range ps {
		p.Wait()
	}
}
