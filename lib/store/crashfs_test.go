package store_test

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
	"github.com/fold-es/fold/lib/store/storetest"
	"github.com/fold-es/fold/lib/vfs"
	"github.com/fold-es/fold/lib/vfs/crashfs"
)

// TestRootOnCrashFS: the file backend behaves the same on the in-memory
// file system the crash tests use, with and without exchange.
func TestRootOnCrashFS(t *testing.T) {
	for _, exchange := range []bool{true, false} {
		name := map[bool]string{true: "exchange", false: "rename"}[exchange]
		t.Run(name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store {
				c := crashfs.New()
				if !exchange {
					c.NoExchange()
				}
				return store.OpenFS("/root", c)
			})
		})
	}
}

// TestFailedCreationLeavesNothing: a stream whose creation fails at any
// step (the registry, a directory, the log) leaves no log and no
// directory behind, and can be created once the fault is gone.
func TestFailedCreationLeavesNothing(t *testing.T) {
	faults := []struct {
		name string
		hit  func(r store.Root, op crashfs.Op) bool
	}{
		{"registry", func(r store.Root, op crashfs.Op) bool { return op.Path == r.RegistryPath() }},
		{"type directory", func(r store.Root, op crashfs.Op) bool {
			return op.Kind == crashfs.Mkdir && op.Path == filepath.Join(r.Dir, "streams", "counter")
		}},
		{"stream directory", func(r store.Root, op crashfs.Op) bool {
			return op.Kind == crashfs.Mkdir && strings.HasSuffix(op.Path, "/new")
		}},
		{"log", func(r store.Root, op crashfs.Op) bool {
			return op.Kind == crashfs.Create && strings.HasSuffix(op.Path, "/new/app.jsonl")
		}},
	}
	for _, fault := range faults {
		for _, existing := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/existing root %v", fault.name, existing), func(t *testing.T) {
				c := crashfs.New()
				r := store.OpenFS("/root", c)
				if existing {
					w, _, err := r.OpenWriter(record.StreamID{Type: "other", ID: "x"}, true)
					if err != nil {
						t.Fatal(err)
					}
					w.Close()
				}
				id := record.StreamID{Type: "counter", ID: "new"}
				c.Fail(func(op crashfs.Op) error {
					if fault.hit(r, op) {
						return syscall.ENOSPC
					}
					return nil
				})
				if _, _, err := r.OpenWriter(id, true); !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("OpenWriter = %v; want the injected ENOSPC", err)
				}
				c.Fail(nil)
				for _, p := range []string{r.LogPath(id), r.StreamDir(id), filepath.Dir(r.StreamDir(id))} {
					if _, err := c.Stat(p); !errors.Is(err, fs.ErrNotExist) {
						t.Errorf("%s left behind (%v)", p, err)
					}
				}
				if ids, err := r.Streams(); err != nil || slices.Contains(ids, id) {
					t.Errorf("Streams = %v, %v", ids, err)
				}
				w, created, err := r.OpenWriter(id, true)
				if err != nil || !created {
					t.Fatalf("creating it again: %v, %v", created, err)
				}
				w.Close()
			})
		}
	}
}

// TestFirstFlushMakesNamesDurable: a new stream's first flush, alone or in
// a group, makes its log's name durable with every directory made for it
// (the root's own, on the root's first stream): a power cut after it keeps
// the event.
func TestFirstFlushMakesNamesDurable(t *testing.T) {
	setups := map[string]func(c *crashfs.FS, r store.Root){
		"new root": func(c *crashfs.FS, r store.Root) {},
		"registry only": func(c *crashfs.FS, r store.Root) {
			// A root made long ago (durable), registered in by a run that
			// created nothing and was killed: streams/ is new.
			if _, err := vfs.MkdirAll(c, r.Dir, 0o755); err != nil || c.SyncDir("/") != nil || c.SyncDir("/srv") != nil {
				t.Fatal(err)
			}
			_ = r.Register(record.StreamID{Type: "x", ID: "y"}, false)
		},
		"other stream":     func(c *crashfs.FS, r store.Root) { mustCreate(t, r, record.StreamID{Type: "other", ID: "o"}) },
		"same type":        func(c *crashfs.FS, r store.Root) { mustCreate(t, r, record.StreamID{Type: "counter", ID: "o"}) },
		"root in new dirs": func(c *crashfs.FS, r store.Root) {},
	}
	for name, setup := range setups {
		for _, group := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/group %v", name, group), func(t *testing.T) {
				c := crashfs.New()
				dir := "/srv/root"
				if name == "root in new dirs" {
					dir = "/a/b/root"
				}
				r := store.OpenFS(dir, c)
				setup(c, r)
				id := record.StreamID{Type: "counter", ID: "new"}
				w, _, err := r.OpenWriter(id, true)
				if err != nil {
					t.Fatal(err)
				}
				defer w.Close()
				line := `{"type":"Incremented","data":null,"ts":1}` + "\n"
				if err := w.Append([]byte(line), 0); err != nil {
					t.Fatal(err)
				}
				if group {
					err = r.SyncWriters([]store.Writer{w})
				} else {
					err = w.Sync()
				}
				if err != nil {
					t.Fatal(err)
				}
				after := c.PowerCut(nil)
				data, err := vfs.ReadFile(after, r.LogPath(id))
				if err != nil || string(data) != line {
					t.Fatalf("after a power cut the log holds %q, %v", data, err)
				}
			})
		}
	}
}

func mustCreate(t *testing.T, r store.Root, id record.StreamID) {
	t.Helper()
	w, _, err := r.OpenWriter(id, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	w.Close()
}

// TestFailedFirstFlushIsTriedAgain: when the flush that makes a new log's
// name durable fails, the next flush syncs the names again, and a power
// cut after it keeps the log.
func TestFailedFirstFlushIsTriedAgain(t *testing.T) {
	for _, group := range []bool{false, true} {
		t.Run(fmt.Sprintf("group %v", group), func(t *testing.T) {
			c := crashfs.New()
			r := store.OpenFS("/root", c)
			id := record.StreamID{Type: "counter", ID: "a"}
			w, _, err := r.OpenWriter(id, true)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			flush := func() error {
				if group {
					return r.SyncWriters([]store.Writer{w})
				}
				return w.Sync()
			}
			c.Fail(func(op crashfs.Op) error {
				if op.Kind == crashfs.SyncDir && op.Path == filepath.Dir(r.StreamDir(id)) {
					return syscall.EIO
				}
				return nil
			})
			if err := flush(); !errors.Is(err, syscall.EIO) {
				t.Fatalf("first flush = %v; want EIO", err)
			}
			c.Fail(nil)
			if err := w.Append([]byte(`{"type":"Incremented","data":null,"ts":1}`+"\n"), 0); err != nil {
				t.Fatal(err)
			}
			var synced []string
			c.Fail(func(op crashfs.Op) error {
				if op.Kind == crashfs.SyncDir {
					synced = append(synced, op.Path)
				}
				return nil
			})
			if err := flush(); err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(synced, filepath.Dir(r.StreamDir(id))) {
				t.Fatalf("second flush synced %v; want the type's directory again", synced)
			}
			if data, err := vfs.ReadFile(c.PowerCut(nil), r.LogPath(id)); err != nil || len(data) == 0 {
				t.Fatalf("after a power cut: %q, %v", data, err)
			}
		})
	}
}

// TestEmptyLogOfADeadProcess: a log another process made and died before
// flushing is empty; the next writer (another process, in effect: a Root
// of its own) takes it as new and makes its names durable with its first
// flush.
func TestEmptyLogOfADeadProcess(t *testing.T) {
	c := crashfs.New()
	id := record.StreamID{Type: "counter", ID: "a"}
	dead := store.OpenFS("/srv/root", c)
	w, _, err := dead.OpenWriter(id, true)
	if err != nil {
		t.Fatal(err)
	}
	w.Close() // died before its first flush
	r := store.OpenFS("/srv/root", c)
	w, created, err := r.OpenWriter(id, true)
	if err != nil || created {
		t.Fatal(created, err)
	}
	defer w.Close()
	line := `{"type":"Incremented","data":null,"ts":1}` + "\n"
	if err := w.Append([]byte(line), 0); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	// The root's own name was made by the dead process: a process that
	// finds the log empty syncs the path from the root down.
	if err := c.SyncDir("/"); err != nil || c.SyncDir("/srv") != nil {
		t.Fatal(err)
	}
	if data, err := vfs.ReadFile(c.PowerCut(nil), r.LogPath(id)); err != nil || string(data) != line {
		t.Fatalf("after a power cut: %q, %v", data, err)
	}
}
