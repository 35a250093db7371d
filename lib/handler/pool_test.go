package handler

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestPoolConcurrent(t *testing.T) {
	const size, callers, calls = 3, 8, 5
	pool := NewPool(Config{
		Command: `while IFS= read -r l; do sleep 0.02; echo "{\"pid\":$$}"; done`,
		Timeout: 20 * time.Second,
	}, size)
	defer pool.Close()
	var (
		mu   sync.Mutex
		pids = map[string]int{}
		wg   sync.WaitGroup
	)
	for range callers {
		wg.Go(func() {
			for range calls {
				ans, err := pool.Call(context.Background(), []byte(`{}`))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				pids[string(ans)]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	total := 0
	for _, n := range pids {
		total += n
	}
	if total != callers*calls {
		t.Fatalf("%d answers, want %d", total, callers*calls)
	}
	if len(pids) > size {
		t.Fatalf("%d processes answered, want at most %d: %v", len(pids), size, pids)
	}
}

func TestPoolWaitsForAProcess(t *testing.T) {
	cmd := `while IFS= read -r l; do case $l in *slow*) sleep 0.5 ;; esac; echo '{}'; done`
	pool := NewPool(Config{Command: cmd, Timeout: 20 * time.Second}, 1)
	defer pool.Close()
	started := make(chan struct{})
	done := make(chan error)
	go func() {
		close(started)
		_, err := pool.Call(context.Background(), []byte(`{"slow":1}`)) // holds the only process
		done <- err
	}()
	<-started
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := pool.Call(ctx, []byte(`{}`)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline while waiting for the busy process", err)
	}
	pool.Close() // the busy process is closed when its call returns
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Call(context.Background(), []byte(`{}`)); !errors.Is(err, ErrClosed) {
		t.Fatalf("err = %v, want ErrClosed", err)
	}
}

func TestPoolRecoversFailedProcess(t *testing.T) {
	pool := NewPool(Config{Command: pidHandler, Timeout: 20 * time.Second}, 2)
	defer pool.Close()
	if _, err := pool.Call(context.Background(), []byte(`{"bad":1}`)); !errors.Is(err, ErrBadAnswer) {
		t.Fatalf("err = %v, want ErrBadAnswer", err)
	}
	if _, err := pool.Call(context.Background(), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
}
