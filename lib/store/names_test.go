package store

import (
	"fmt"
	"testing"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/vfs/crashfs"
)

// TestPendingNamesStayFew: streams created and never flushed (--sync
// none) leave only a few shared directories pending, not one per stream:
// memory stays bounded however many streams a run creates.
func TestPendingNamesStayFew(t *testing.T) {
	r := OpenFS("/srv/root", crashfs.New())
	for i := range 200 {
		w, _, err := r.OpenWriter(record.StreamID{Type: fmt.Sprint("t", i%3), ID: fmt.Sprint("s", i)}, true)
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
	}
	dirs, _ := r.names.pending()
	// "/", /srv, the root, streams/ and the three types' directories
	// (where the types' and the streams' names are).
	if len(dirs) != 7 {
		t.Fatalf("%d directories pending: %v", len(dirs), dirs)
	}
}
