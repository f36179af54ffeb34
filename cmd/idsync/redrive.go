package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/opscli"
)

func newRedrive(g *globals) *cobra.Command {
	var a opscli.RedriveArgs
	var target string
	cmd := &cobra.Command{
		Use:   "redrive --target workmail|connect [--dry-run] [--reason TEXT] [--person KEY] [--rate N]",
		Short: "List a target's dead-letter queue and move its messages back to the target's queue",
		Long: `List what a target's dead-letter queue holds (person, login, event kind, event
id, age, the reason the consumer gave) and move the chosen messages back to
the target's queue, where the consumer applies them again.

With no selection SQS moves them all (StartMessageMoveTask); with --reason or
--person, and where SQS lacks move tasks (the local engine), each message is
sent to the queue and deleted from the dead-letter queue only once the send
succeeded. A person's messages keep their order. Redriven messages keep their
event id, so what was applied meanwhile is skipped as a duplicate.
--dry-run lists and moves nothing. The summary (moved, skipped, failed) goes
to stderr; exit status 1 when a chosen message could not be moved.`,
		Example: `  idsync redrive --target connect --dry-run
  idsync redrive --target workmail --reason LimitExceeded
  idsync redrive --target workmail --person ana.silva@example.com --rate 5`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if a.Format, err = opscli.ParseFormat(g.output); err != nil {
				return err
			}
			if target == "" {
				return fmt.Errorf("%w: --target is required (workmail or connect)", opscli.ErrUsage)
			}
			a.Target = domain.Target(target)
			app, err := operatorApp(cmd, g)
			if err != nil {
				return err
			}
			q, err := opscli.QueueOf(app.Settings, a.Target)
			if err != nil {
				return err
			}
			a.QueueURL, a.DLQURL = q.URL, q.DLQURL
			a.Progress = g.progress(a.Format)
			_, err = opscli.Redrive(cmd.Context(), opscli.SQSOf(app), app.Store, cmd.OutOrStdout(), cmd.ErrOrStderr(), a)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&target, "target", "", "the target whose dead-letter queue to redrive: workmail or connect (required)")
	f.BoolVar(&a.DryRun, "dry-run", false, "list what would move; move nothing")
	f.StringVar(&a.Reason, "reason", "", "only messages whose reason contains TEXT (case-insensitive)")
	f.StringVar(&a.Person, "person", "", "only one person's messages: a login, Okta user id, IdC user id or person key")
	f.Float64Var(&a.Rate, "rate", 0, "move at most N messages per second (0: no limit; a move task takes at most 500)")
	return cmd
}
