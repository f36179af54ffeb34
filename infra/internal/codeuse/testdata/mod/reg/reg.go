// Package reg is a registry of alternatives one command serves, chosen by
// an environment variable, as internal/app's targets are.
package reg

import (
	"context"
	"os"

	"example.com/fixture/store"
)

type entry struct {
	name string
	run  func(ctx context.Context, st *store.Store) error
}

func entries() []entry {
	return []entry{
		{"find", func(ctx context.Context, st *store.Store) error { return st.Find(ctx) }},
		{"all", func(ctx context.Context, st *store.Store) error { return st.All(ctx) }},
	}
}

// Run runs the entry REG_ENTRY names.
func Run(ctx context.Context, st *store.Store) error { return run(ctx, st, os.Getenv("REG_ENTRY")) }

func run(ctx context.Context, st *store.Store, name string) error {
	for _, e := range entries() {
		if e.name != name {
			continue
		}
		return e.run(ctx, st)
	}
	return nil
}

// RunAll runs every entry: none is selected.
func RunAll(ctx context.Context, st *store.Store) {
	for _, e := range entries() {
		_ = e.run(ctx, st)
	}
}
