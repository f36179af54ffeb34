// Package env reads the table names the way the real commands do.
package env

import "os"

// Required returns a variable.
func Required(name string) string { return os.Getenv(name) }

// Tables returns the state and ledger table names.
func Tables() (state, ledger string) { return Required("STATE_TABLE"), Required("LEDGER_TABLE") }
