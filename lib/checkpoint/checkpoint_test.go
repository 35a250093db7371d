package checkpoint

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fold-es/fold/lib/record"
)

func TestLoadMissing(t *testing.T) {
	cp, found, err := At(t.TempDir()).Load()
	if err != nil || found {
		t.Fatalf("Load of a missing checkpoint = found %v, err %v; want not found, no error", found, err)
	}
	if string(cp.State) != "null" || cp.Cursors == nil || len(cp.Cursors) != 0 {
		t.Fatalf("Load of a missing checkpoint = %+v; want null state, empty cursors", cp)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	f := At(filepath.Join(t.TempDir(), "projections", "totals"))
	want := record.Checkpoint{
		State:   record.RawMessage(`{"total":3,"by":{"a":1}}`),
		Cursors: map[string]record.Cursor{"counter/b": {Offset: 360, Hash: "677b532c51340ee9"}, "counter/a": {Offset: 487, Hash: "477053ed4b97daed"}},
	}
	if err := f.Save(want); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(f.Path)
	if err != nil {
		t.Fatal(err)
	}
	// The eventfold-es layout: two-space indent, no trailing newline.
	if !strings.HasPrefix(string(data), "{\n  \"state\": {\n    \"total\": 3,") || strings.HasSuffix(string(data), "\n") {
		t.Errorf("saved file is not in the eventfold-es layout:\n%s", data)
	}
	got, found, err := f.Load()
	if err != nil || !found {
		t.Fatalf("Load = found %v, err %v", found, err)
	}
	if string(got.State) != string(want.State) {
		t.Errorf("state = %s; want it compacted back to %s", got.State, want.State)
	}
	if len(got.Cursors) != 2 || got.Cursors["counter/a"] != want.Cursors["counter/a"] || got.Cursors["counter/b"] != want.Cursors["counter/b"] {
		t.Errorf("cursors = %v; want %v", got.Cursors, want.Cursors)
	}
	tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(f.Path), ".*tmp*"))
	if len(tmps) > 0 {
		t.Errorf("temporary files left behind: %v", tmps)
	}
}

// The checkpoint eventfold-es 0.2.0 wrote for its TotalCounter projection.
const eventfoldCheckpoint = `{
  "state": {
    "total_increments": 6,
    "total_decrements": 2,
    "total_resets": 1
  },
  "cursors": {
    "counter/alpha": {
      "offset": 487,
      "hash": "477053ed4b97daed"
    },
    "counter/gamma": {
      "offset": 234,
      "hash": "08854f3260da89f7"
    },
    "counter/beta": {
      "offset": 360,
      "hash": "677b532c51340ee9"
    }
  }
}`

func TestLoadEventfoldCheckpoint(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(eventfoldCheckpoint), 0o644); err != nil {
		t.Fatal(err)
	}
	cp, found, err := At(dir).Load()
	if err != nil || !found {
		t.Fatalf("Load = found %v, err %v", found, err)
	}
	if got := string(cp.State); got != `{"total_increments":6,"total_decrements":2,"total_resets":1}` {
		t.Errorf("state = %s", got)
	}
	if c := cp.Cursors["counter/gamma"]; c.Offset != 234 || c.Hash != "08854f3260da89f7" {
		t.Errorf("counter/gamma cursor = %+v", c)
	}
}

func TestLoadBad(t *testing.T) {
	for name, content := range map[string]string{
		"not JSON":        `{"state":`,
		"wrong type":      `{"state":null,"cursors":[]}`,
		"negative offset": `{"state":null,"cursors":{"a/b":{"offset":-1,"hash":""}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, FileName), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, _, err := At(dir).Load()
			var be *BadError
			if !errors.As(err, &be) || be.Path != filepath.Join(dir, FileName) {
				t.Fatalf("Load = %v; want a *BadError naming the file", err)
			}
		})
	}
}

func TestLock(t *testing.T) {
	f := At(filepath.Join(t.TempDir(), "projections", "p"))
	ctx := context.Background()
	unlock, err := f.Lock(ctx, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, timeout := range []time.Duration{0, 50 * time.Millisecond} {
		start := time.Now()
		_, err := f.Lock(ctx, timeout)
		var be *BusyError
		if !errors.As(err, &be) || !errors.Is(err, ErrBusy) || be.Path != f.LockPath() {
			t.Fatalf("second Lock (timeout %s) = %v; want a *BusyError", timeout, err)
		}
		if time.Since(start) < timeout {
			t.Errorf("second Lock gave up before its timeout %s", timeout)
		}
	}
	// A waiter gets the lock once it is released.
	got := make(chan error, 1)
	go func() {
		u, err := f.Lock(ctx, 5*time.Second)
		if err == nil {
			err = u()
		}
		got <- err
	}()
	time.Sleep(30 * time.Millisecond)
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("waiting Lock = %v; want the lock once released", err)
	}
}

func TestLockCancelled(t *testing.T) {
	f := At(t.TempDir())
	unlock, err := f.Lock(context.Background(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err = f.Lock(ctx, 10*time.Second)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrBusy) {
		t.Fatalf("Lock with a cancelled context = %v; want context.Canceled", err)
	}
}
