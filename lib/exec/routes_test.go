package exec

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/fold-es/fold/lib/handler"
)

func TestParseRoutes(t *testing.T) {
	routes, untyped, err := ParseRoutes([]string{
		"counter=jq --unbuffered -c -f counter.jq",
		"order=jq:examples/saga/order.jq",
		"env VAR=1 ./handler",
		"jq:examples/saga/fulfil.jq",
		"jq:odd=name.jq", // a path, not the type "jq:odd"
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Routes{"counter": "jq --unbuffered -c -f counter.jq", "order": "jq:examples/saga/order.jq"}
	if !reflect.DeepEqual(routes, want) {
		t.Errorf("routes %v, want %v", routes, want)
	}
	if want := []string{"env VAR=1 ./handler", "jq:examples/saga/fulfil.jq", "jq:odd=name.jq"}; !reflect.DeepEqual(untyped, want) {
		t.Errorf("untyped %q, want %q", untyped, want)
	}
}

func TestStartPools(t *testing.T) {
	base := handler.Config{Timeout: 10 * time.Second}
	good := `while IFS= read -r l; do echo '{"state":null}'; done`
	pools := Routes{"a": good, "b": "fold-no-such-handler", "c": "jq:/no/such/file.jq"}.Pools(base, t.TempDir(), 1)
	defer ClosePools(pools)
	err := StartPools(context.Background(), pools)
	se, ok := errors.AsType[*handler.StartError](err)
	if !ok || se.Handler != `handler "fold-no-such-handler"` {
		t.Fatalf("err = %v, want the first type's (b) *StartError", err)
	}
	pools = Routes{"a": good, "d": good}.Pools(base, t.TempDir(), 2)
	defer ClosePools(pools)
	if err := StartPools(context.Background(), pools); err != nil {
		t.Fatal(err)
	}
}
