// Command b rewrites the state table and forwards to SQS.
package main

import (
	"context"
	"os"

	"example.com/fixture/apply"
	"example.com/fixture/env"
	"example.com/fixture/store"
)

func main() {
	state, ledger := env.Tables()
	st := store.New(nil, store.Options{State: state, Ledger: ledger})
	run := st.Rewrite
	_ = run(context.Background())
	_ = st.Named(context.Background())
	apply.NewRunner(apply.Queue{}, prefix()+os.Getenv("TARGET")).Run(context.Background())
}

func prefix() string { return "b-" }
