package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/opscli"
)

func newReplay(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "replay (snapshot | ledger)",
		Short: "Backfill: run the IdC snapshot now, or re-emit recorded facts (scripts/replay wraps this)",
		Long: `Backfill and replay.

  replay snapshot   one IdC snapshot run now, with the same code and safety as the
                    scheduled one (lease, removal cap, settle window): the initial
                    load of an existing directory, and the catch-up after an outage.
  replay ledger     re-emit facts the ledger recorded, as replay events with new
                    deterministic ids and their original time.

Both take --dry-run (print what each target would get; queue and change
nothing) and --wait (follow the queues until the consumers took everything).
Interrupted, the same command run again finishes without double effects.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("%w: unknown replay %q (snapshot or ledger)", opscli.ErrUsage, args[0])
			}
			return fmt.Errorf("%w: replay snapshot or replay ledger", opscli.ErrUsage)
		},
		RunE: func(*cobra.Command, []string) error { return nil },
	}
	cmd.AddCommand(newReplaySnapshot(g), newReplayLedger(g))
	return cmd
}

func newReplaySnapshot(g *globals) *cobra.Command {
	var a opscli.ReplayArgs
	cmd := &cobra.Command{
		Use:   "snapshot [--dry-run] [--wait]",
		Short: "Run one IdC snapshot now (the scheduled run's code, lease and removal cap)",
		Example: `  scripts/replay snapshot --dry-run
  scripts/replay snapshot --wait`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if a.Format, err = opscli.ParseFormat(g.output); err != nil {
				return err
			}
			app, err := operatorApp(cmd, g)
			if err != nil {
				return err
			}
			targets, err := opscli.ChooseTargets(app.Settings, nil)
			if err != nil {
				return err
			}
			d, err := opscli.ReplayDepsOf(app, targets, true)
			if err != nil {
				return err
			}
			a.Progress = g.progress(a.Format)
			return opscli.ReplaySnapshot(cmd.Context(), d, cmd.OutOrStdout(), cmd.ErrOrStderr(), a)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&a.DryRun, "dry-run", false, "read and diff only: print what each target would get, queue nothing")
	f.BoolVar(&a.Wait, "wait", false, "then follow the queues until the consumers have taken every message")
	return cmd
}

func newReplayLedger(g *globals) *cobra.Command {
	var a opscli.ReplayArgs
	var from, to string
	var since time.Duration
	var targets []string
	cmd := &cobra.Command{
		Use:   "ledger (--person KEY | --from T [--to T] | --since D) [--target T] [--dry-run] [--rate N]",
		Short: "Re-emit recorded facts as replay events (original time, new deterministic ids)",
		Long: `Re-emit the facts the ledger recorded for one person (under every key they were
recorded under) or for everyone in a time range, oldest first, as events of
source replay: each keeps its original occurred-at, so the fold keeps its
last-writer-wins answer, and gets a new id derived from the original, so a
re-run after an interruption collides with what was already queued and the
consumers skip what was applied. The ledger keeps facts without profile
values: a replay re-emits memberships and lifecycle; profile values come
from the state and the next snapshot. --round N starts a new round of ids
when a completed replay must be repeated deliberately.`,
		Example: `  scripts/replay ledger --person ana.silva@example.com --dry-run
  scripts/replay ledger --since 6h --target connect --rate 2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if a.Format, err = opscli.ParseFormat(g.output); err != nil {
				return err
			}
			if a.From, a.To, err = timeRange(from, to, since); err != nil {
				return err
			}
			if a.Person == "" && a.From.IsZero() {
				return fmt.Errorf("%w: give --person, --from or --since", opscli.ErrUsage)
			}
			app, err := operatorApp(cmd, g)
			if err != nil {
				return err
			}
			chosen, err := opscli.ChooseTargets(app.Settings, convert[domain.Target](targets))
			if err != nil {
				return err
			}
			d, err := opscli.ReplayDepsOf(app, chosen, false)
			if err != nil {
				return err
			}
			a.Progress = g.progress(a.Format)
			return opscli.ReplayLedger(cmd.Context(), d, cmd.OutOrStdout(), cmd.ErrOrStderr(), a)
		},
	}
	f := cmd.Flags()
	f.StringVar(&a.Person, "person", "", "one person's facts: a login, Okta user id, IdC user id or person key")
	f.StringVar(&from, "from", "", "facts that occurred from this time, RFC 3339 or YYYY-MM-DD (inclusive)")
	f.StringVar(&to, "to", "", "facts that occurred before this time (exclusive)")
	f.DurationVar(&since, "since", 0, "facts that occurred this long ago or later (e.g. 6h); instead of --from")
	f.StringSliceVar(&targets, "target", nil, "queue only for these targets (default: every configured target)")
	f.BoolVar(&a.DryRun, "dry-run", false, "print what each target would get; record and queue nothing")
	f.Float64Var(&a.Rate, "rate", 0, "queue at most N events per second (0: no limit)")
	f.IntVar(&a.Round, "round", 1, "replay round: the same round repeats the same ids; a new round re-emits anew")
	f.BoolVar(&a.Wait, "wait", false, "then follow the queues until the consumers have taken every message")
	return cmd
}
