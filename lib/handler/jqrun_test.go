package handler

import (
	"context"
	"testing"
	"time"
)

func TestRunner(t *testing.T) {
	r := newRunner()
	// Stopped at its timeout, and told so.
	r.start(context.Background(), 20*time.Millisecond)
	select {
	case <-r.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("not stopped at its timeout")
	}
	if err := r.Err(); err != errRunTimeout {
		t.Fatalf("Err() = %v", err)
	}
	if err := r.finish(); err != errRunTimeout {
		t.Fatalf("r.finish() = %v", err)
	}
	// The next run starts afresh; an expiry of an earlier run that comes
	// late does not stop it.
	r.start(context.Background(), time.Hour)
	r.expire()
	select {
	case <-r.Done():
		t.Fatal("stopped by a late expiry")
	default:
	}
	if err := r.finish(); err != nil {
		t.Fatalf("r.finish() = %v", err)
	}
	// Stopped when the caller's context is done.
	ctx, cancel := context.WithCancel(context.Background())
	r.start(ctx, 0)
	cancel()
	select {
	case <-r.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("not stopped with its context")
	}
	if err := r.finish(); err != context.Canceled {
		t.Fatalf("r.finish() = %v", err)
	}
	// No run: a stop does nothing.
	r.stop(errRunTimeout)
	if r.Err() != nil {
		t.Fatal("stopped with no run")
	}
}
