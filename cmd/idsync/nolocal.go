//go:build !local

package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/idsync/idsync/internal/opscli"
)

// newLocal is the stand-in for `idsync local` in the operator build, which
// does not link the local stand-ins.
func newLocal() *cobra.Command {
	return &cobra.Command{
		Use:                "local",
		Short:              "Run the pipeline locally (only in the development build: make run)",
		DisableFlagParsing: true,
		RunE: func(*cobra.Command, []string) error {
			return fmt.Errorf("%w: this idsync was built without the local runner; from the repository use make run (go run -tags local ./cmd/idsync local)", opscli.ErrUsage)
		},
	}
}
