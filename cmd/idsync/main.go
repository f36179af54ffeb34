// Command idsync is the operator CLI: it reads the audit ledger and tells
// one fact's story (audit), moves dead-lettered messages back (redrive),
// runs the snapshot now and re-emits recorded facts (replay; scripts/replay
// wraps it), finds the ids a configuration needs (discover) and takes over
// Connect agents made before idsync (adopt connect).
//
// Tables are printed for people and --output json|csv for scripts;
// summaries and progress bars (only on a terminal, only for tables) go to
// stderr.
//
// Commands read their settings (internal/settings names the variables)
// from the environment, falling back to a settings file, by default
// .local/endpoints.env as `make run` writes it, so that with no flags they
// work against the local pipeline and with the usual AWS variables against
// AWS.
//
// Exit codes: 0 success, 1 failure, 2 usage error.
//
// The local runner (`idsync local`) links the stand-ins under internal/sim
// and is compiled in only with the build tag `local` (`make run` sets it),
// so the operator binary ships without them.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/idsync/idsync/internal/opscli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot(os.Stdout, os.Stderr).ExecuteContext(ctx)
	stop()
	os.Exit(exitCode(err))
}

// exitCode maps a command's error to the process's exit status, printing
// it first.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(os.Stderr, "idsync:", err)
	if errors.Is(err, opscli.ErrUsage) {
		return 2
	}
	return 1
}

// globals are the flags every command shares.
type globals struct {
	envFile string
	output  string
	stderr  io.Writer
}

// progress is where progress bars are drawn: stderr when it is a terminal
// and the output a table, else nowhere.
func (g *globals) progress(f opscli.Format) io.Writer {
	fd, ok := g.stderr.(interface{ Fd() uintptr })
	if f != opscli.FormatTable || !ok || !term.IsTerminal(int(fd.Fd())) {
		return nil
	}
	return g.stderr
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stderr: stderr}
	root := &cobra.Command{
		Use:           "idsync",
		Short:         "Operate idsync: audit the ledger, redrive dead letters, replay and backfill, discover a configuration, adopt existing agents (and run it all locally with make run)",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return fmt.Errorf("%w: %w", opscli.ErrUsage, err) })
	root.PersistentFlags().StringVar(&g.envFile, "env-file", ".local/endpoints.env", "settings file read for whatever the environment does not set")
	root.PersistentFlags().StringVarP(&g.output, "output", "o", "table", "table, json or csv")
	root.AddCommand(newAudit(g), newRedrive(g), newReplay(g), newDiscover(g), newWorkMail(g), newAdopt(g), newLocal())
	return root
}
