package main

import (
	"github.com/spf13/cobra"

	"github.com/idsync/idsync/internal/opscli"
)

func newAdopt(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "adopt",
		Short: "Take over accounts made before idsync (coming from AWS's samples)",
		Long: `Take over accounts that exist for people idsync manages but that idsync did not
make, as after a migration from AWS's Okta → Amazon Connect and IAM Identity
Center → WorkMail samples.

Mailboxes need no command: the WorkMail consumer adopts a mailbox carrying
the person's IAM Identity Center user id (IdentityProviderUserId) whatever
its name, which is how the WorkMail sample creates them.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newAdoptConnect(g))
	return cmd
}

func newAdoptConnect(g *globals) *cobra.Command {
	var a opscli.AdoptConnectArgs
	cmd := &cobra.Command{
		Use:   "connect [--apply]",
		Short: "List (and with --apply, tag and record) Connect agents whose username is a managed person's",
		Long: `List the Amazon Connect agents idsync should manage but does not know yet: for
every person idsync manages who qualifies for an agent (an active member of a
mapped Connect group) and has no agent recorded, the agent whose Username is
the one idsync would create (connect.usernameTemplate; case-insensitive).

Nothing changes without --apply (a dry run). With --apply each listed agent
that carries no ownership tag is tagged (idsync:person = the person key, as
the Connect consumer tags the agents it creates), recorded as the person's
agent (its id, names and profiles as they are) and written to the ledger; the
next event or snapshot then brings its names and profiles in line with the
configuration. An agent tagged for another person is never adopted (exit
status 1 only when an adoption failed). Run it again at any time: adopted
agents are managed and no longer listed.

Permissions: connect:ListUsers, DescribeUser and TagResource on the instance,
DynamoDB Scan and PutItem on the state table, PutItem on the ledger.`,
		Example: `  idsync adopt connect                 # what would be adopted
  idsync adopt connect --apply         # tag and record them
  idsync adopt connect --output csv    # for a review`,
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
			d, err := opscli.AdoptConnectDepsOf(app)
			if err != nil {
				return err
			}
			_, err = opscli.AdoptConnect(cmd.Context(), d, cmd.OutOrStdout(), cmd.ErrOrStderr(), a)
			return err
		},
	}
	cmd.Flags().BoolVar(&a.Apply, "apply", false, "tag and record the listed agents (default: a dry run that changes nothing)")
	return cmd
}
