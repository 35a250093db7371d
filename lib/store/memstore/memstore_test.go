package memstore_test

import (
	"testing"

	"github.com/fold-es/fold/lib/store"
	"github.com/fold-es/fold/lib/store/memstore"
	"github.com/fold-es/fold/lib/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return memstore.New(t.Name()) })
}
