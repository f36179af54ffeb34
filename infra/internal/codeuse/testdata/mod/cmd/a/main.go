// Command a appends to the ledger, queries the state's indexes, commits.
package main

import (
	"context"

	"example.com/fixture/apply"
	"example.com/fixture/env"
	"example.com/fixture/store"
)

func main() {
	state, ledger := env.Tables()
	st := store.New(nil, store.Options{State: state, Ledger: ledger})
	r := apply.NewRunner(&apply.Ledger{Store: st}, "a")
	r.Run(context.Background())
	go func() { _ = st.Find(context.Background()) }()
	defer func() { _ = st.Commit(context.Background()) }()
}
