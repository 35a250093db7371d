package store_test

import (
	"testing"

	"github.com/fold-es/fold/lib/store"
	"github.com/fold-es/fold/lib/store/storetest"
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
