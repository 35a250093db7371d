package exec

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/fold-es/fold/lib/handler"
	"github.com/fold-es/fold/lib/record"
	"github.com/fold-es/fold/lib/store"
)

// routePrefix is what makes a --handler value a route: whatever comes
// before the first "=" when it holds no space, which must then be a valid
// type name ("=x" and "a/b=x" are refused, not run as commands). A command
// that needs a variable set is written "env VAR=1 cmd", which does not
// match.
var routePrefix = regexp.MustCompile(`^([^\s=]*)=(.*)$`)

// Routes maps aggregate types to handler command lines.
type Routes map[string]string

// ParseRoutes splits --handler values into typed routes ("TYPE=CMD") and
// untyped command lines, which fold-exec gives to --type and fold-pm keeps
// as the process manager's own handler.
func ParseRoutes(values []string) (routes Routes, untyped []string, err error) {
	routes = Routes{}
	for _, v := range values {
		m := routePrefix.FindStringSubmatch(v)
		if _, jq := handler.JQFile(v); m == nil || jq {
			untyped = append(untyped, v)
			continue
		}
		t, cmd := m[1], strings.TrimSpace(m[2])
		if err := store.CheckName("aggregate_type", t); err != nil {
			return nil, nil, fmt.Errorf("--handler %s: %w", record.Quote(v), err)
		}
		if cmd == "" {
			return nil, nil, fmt.Errorf("--handler %s names no command", record.Quote(v))
		}
		if _, dup := routes[t]; dup {
			return nil, nil, fmt.Errorf("--handler: aggregate_type %s has two handlers", record.Quote(t))
		}
		routes[t] = cmd
	}
	return routes, untyped, nil
}

// Types returns the routed types, sorted.
func (r Routes) Types() []string {
	out := make([]string, 0, len(r))
	for t := range r {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Pools starts (lazily) one handler pool per routed type, with the
// protocol's environment for the aggregate role. base gives the timeout,
// stderr and debug settings shared by all.
func (r Routes) Pools(base handler.Config, rootDir string, size int) map[string]*handler.Pool {
	out := make(map[string]*handler.Pool, len(r))
	for t, cmd := range r {
		cfg := base
		cfg.Command = cmd
		cfg.Env = append(append([]string(nil), base.Env...),
			"FOLD_ROLE=aggregate", "FOLD_ROOT="+rootDir, "FOLD_AGGREGATE_TYPE="+t)
		out[t] = handler.NewPool(cfg, size)
	}
	return out
}

// StartPools starts the handler of every type side by side and checks that
// it answers (handler.Pool.Start), so that a program can stop before it
// reads any input. The error is that of the first type, in sorted order,
// whose handler cannot start.
func StartPools(ctx context.Context, pools map[string]*handler.Pool) error {
	types := make([]string, 0, len(pools))
	for t := range pools {
		types = append(types, t)
	}
	sort.Strings(types)
	errs := make([]error, len(types))
	var wg sync.WaitGroup
	for i, t := range types {
		wg.Go(func() { errs[i] = pools[t].Start(ctx, handler.AggregateProbe(t)) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// ClosePools stops every handler.
func ClosePools(pools map[string]*handler.Pool) error {
	var first error
	for _, p := range pools {
		if err := p.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
