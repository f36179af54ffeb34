// Command d runs every registry entry.
package main

import (
	"context"

	"example.com/fixture/env"
	"example.com/fixture/reg"
	"example.com/fixture/store"
)

func main() {
	state, ledger := env.Tables()
	reg.RunAll(context.Background(), store.New(nil, store.Options{State: state, Ledger: ledger}))
}
