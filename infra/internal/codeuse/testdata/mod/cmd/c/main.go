// Command c runs the registry entry its environment selects.
package main

import (
	"context"

	"example.com/fixture/env"
	"example.com/fixture/reg"
	"example.com/fixture/store"
)

func main() {
	state, ledger := env.Tables()
	_ = reg.Run(context.Background(), store.New(nil, store.Options{State: state, Ledger: ledger}))
}
