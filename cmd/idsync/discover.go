package main

import (
	"github.com/spf13/cobra"

	"github.com/idsync/idsync/internal/opscli"
	"github.com/idsync/idsync/internal/settings"
)

func newDiscover(g *globals) *cobra.Command {
	var a opscli.DiscoverArgs
	var connectGroups []string
	var out string
	var force bool
	cmd := &cobra.Command{
		Use:   "discover --workmail-group NAME... --connect-group NAME=PRIORITY[:SECURITY_PROFILE,...[:ROUTING_PROFILE[:HIERARCHY_GROUP]]]... [--out FILE] [--assign]",
		Short: "Find the ids a configuration needs and write a configuration document that validates",
		Long: `Find the IAM Identity Center instance and identity store, the named groups
(in IdC by display name, and in Okta when OKTA_ORG_URL and OKTA_API_TOKEN are
set), the WorkMail organisation with its default mail domain and IAM Identity
Center application, and the Connect instance with its security profiles,
routing profiles and hierarchy groups; write the configuration document
(validated as every component validates it) to --out, and what was found to
stderr.

Where there is more than one candidate and no flag picks one (instances,
organisations, profiles), the candidates are listed and the exit status is 2:
nothing is ever picked silently. Profiles and hierarchy groups are given by
name or id. --assign assigns the WorkMail groups to WorkMail's IAM Identity
Center application, which WorkMail requires before it links a mailbox to an
IdC user; an existing assignment is success.

Needs no tables: run it before the first deployment.`,
		Example: `  idsync discover --workmail-group workmail_users \
    --connect-group "Amazon Connect Agents=2:Agent:Basic Routing Profile" \
    --connect-group "Amazon Connect Supervisors=1:Agent,Supervisor:Supervisor Routing Profile" \
    --out idsync.json --assign`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if a.Format, err = opscli.ParseFormat(g.output); err != nil {
				return err
			}
			for _, s := range connectGroups {
				spec, err := opscli.ParseConnectGroup(s)
				if err != nil {
					return err
				}
				a.ConnectGroups = append(a.ConnectGroups, spec)
			}
			s, err := loadSettings(g, settings.Setup)
			if err != nil {
				return err
			}
			clients, err := opscli.DiscoverClientsOf(cmd.Context(), s)
			if err != nil {
				return err
			}
			found, err := opscli.Discover(cmd.Context(), clients, cmd.OutOrStdout(), a)
			if err != nil {
				return err
			}
			if err := opscli.PrintFound(cmd.ErrOrStderr(), found.Found); err != nil {
				return err
			}
			return opscli.WriteConfig(cmd.OutOrStdout(), out, found.Document, force)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&a.WorkMailGroups, "workmail-group", nil, "a group whose members get a mailbox (repeatable)")
	f.StringArrayVar(&connectGroups, "connect-group", nil,
		"a group whose members get an agent: NAME=PRIORITY[:SECURITY_PROFILE,...[:ROUTING_PROFILE[:HIERARCHY_GROUP]]] (repeatable; lower priority wins)")
	f.StringVar(&a.IdCInstance, "idc-instance", "", "the IAM Identity Center instance: ARN or identity store id")
	f.StringVar(&a.WorkMailOrg, "workmail-org", "", "the WorkMail organisation: id or alias")
	f.StringVar(&a.MailDomain, "mail-domain", "", "the domain of mailbox addresses (default: the organisation's default domain)")
	f.StringVar(&a.ConnectInstance, "connect-instance", "", "the Connect instance: id, ARN or alias")
	f.BoolVar(&a.Assign, "assign", false, "assign the WorkMail groups to WorkMail's IAM Identity Center application")
	f.StringVarP(&out, "out", "f", "-", `where to write the configuration document ("-": stdout)`)
	f.BoolVar(&force, "force", false, "replace --out when it exists")
	return cmd
}
