package app

import (
	"strings"

	"github.com/fold-es/fold/lib/store"
)

// Subscriptions reads --subscribe values (T1,T2, repeatable) into aggregate
// types, refusing one that cannot be a type.
func Subscriptions(values []string) ([]string, error) {
	var types []string
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t == "" {
				continue
			}
			if err := store.CheckName("aggregate_type", t); err != nil {
				return nil, UsageError("--subscribe: " + err.Error())
			}
			types = append(types, t)
		}
	}
	return types, nil
}

// Types checks --type values: each must be an aggregate type.
func Types(values []string) ([]string, error) {
	for _, t := range values {
		if err := store.CheckName("aggregate_type", t); err != nil {
			return nil, UsageError("--type: " + err.Error())
		}
	}
	return values, nil
}
