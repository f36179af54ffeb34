package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/opscli"
)

func newWorkMail(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "workmail",
		Short: "WorkMail operations for its end of support: export mailboxes",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newWorkMailExport(g))
	return cmd
}

func newWorkMailExport(g *globals) *cobra.Command {
	var a opscli.ExportArgs
	var since string
	var to domain.MailboxExportTo
	cmd := &cobra.Command{
		Use:   "export (--all | --person LOGIN|OKTA_ID|IDC_ID) [--dry-run] [--concurrency N] [--since T]",
		Short: "Export managed mailboxes to S3 (StartMailboxExportJob), resumably, recorded in the ledger",
		Long: `Export every managed WorkMail mailbox that is not deleted (--all), or one person's (--person),
to the configuration's workmail.onLeave.exportTo (bucket, prefix, KMS key, role), each field
overridable with a flag. At most --concurrency jobs run at once (default and at most 10,
WorkMail's limit per organisation). A mailbox whose latest export COMPLETED and started at or
after --since is skipped, as is a disabled mailbox exported after its disable; by default
--since is the --since of the last --all run (so a re-run resumes it, following jobs still
running instead of starting new ones), else the run's start. WorkMail exports a mailbox at most
once every 24 hours: such mailboxes are reported as waiting. Each start and end is a ledger row
of the person (idsync audit --person shows them) and is kept in the mailbox's state, where a
leaver's export before delete finds it (this is also how a failed leaver's export is re-armed).
--dry-run reads and lists, calls no write and records nothing. A progress bar is drawn on a
terminal for table output. Exit status 1 when a mailbox was not exported.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.All == (a.Person != "") {
				return fmt.Errorf("%w: give --all or --person", opscli.ErrUsage)
			}
			var err error
			if a.Format, err = opscli.ParseFormat(g.output); err != nil {
				return err
			}
			if a.Since, err = parseTime(since); err != nil {
				return err
			}
			ap, err := operatorApp(cmd, g)
			if err != nil {
				return err
			}
			if w := ap.Settings.Config.WorkMail; ap.Settings.HasConfig && w != nil {
				a.OrganizationID = w.OrganizationID
				if x := w.OnLeave.ExportTo; x != nil {
					a.To = *x
				}
			}
			a.To = overrideExportTo(a.To, to)
			a.Progress = exportProgressWriter(cmd.ErrOrStderr(), a.Format)
			rep, err := opscli.ExportMailboxes(cmd.Context(), ap.Store, ap.WorkMailClient(), cmd.OutOrStdout(), a)
			if rep.Rows != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), exportSummary(rep))
			}
			return err
		},
	}
	f := cmd.Flags()
	f.BoolVar(&a.All, "all", false, "every managed mailbox that is not deleted")
	f.StringVar(&a.Person, "person", "", "one person's mailbox: a login, Okta user id or IdC user id")
	f.BoolVar(&a.DryRun, "dry-run", false, "list what would be exported; no write, nothing recorded")
	f.IntVar(&a.Concurrency, "concurrency", opscli.MaxExportConcurrency, "export jobs running at once (at most 10)")
	f.StringVar(&since, "since", "", "skip mailboxes exported since this time, RFC 3339 or YYYY-MM-DD (default: the last --all run's)")
	f.DurationVar(&a.Poll, "poll", opscli.DefaultExportPoll, "how often running jobs are described")
	f.StringVar(&to.Bucket, "bucket", "", "S3 bucket (default: workmail.onLeave.exportTo.bucket)")
	f.StringVar(&to.Prefix, "prefix", "", "S3 key prefix (default: workmail.onLeave.exportTo.prefix)")
	f.StringVar(&to.KMSKeyARN, "kms-key-arn", "", "KMS key that encrypts the export (default: workmail.onLeave.exportTo.kmsKeyArn)")
	f.StringVar(&to.RoleARN, "role-arn", "", "IAM role WorkMail assumes to write (default: workmail.onLeave.exportTo.roleArn)")
	return cmd
}

// overrideExportTo is base with every field set in flags replacing it.
func overrideExportTo(base, flags domain.MailboxExportTo) domain.MailboxExportTo {
	for _, f := range []struct{ dst, src *string }{
		{&base.Bucket, &flags.Bucket}, {&base.Prefix, &flags.Prefix},
		{&base.KMSKeyARN, &flags.KMSKeyARN}, {&base.RoleARN, &flags.RoleARN},
	} {
		if *f.src != "" {
			*f.dst = *f.src
		}
	}
	return base
}

// exportProgressWriter is where the export's progress bar is drawn: stderr
// when it is a terminal and the output a table, else nowhere.
func exportProgressWriter(stderr io.Writer, f opscli.Format) io.Writer {
	fd, ok := stderr.(interface{ Fd() uintptr })
	if f != opscli.FormatTable || !ok || !term.IsTerminal(int(fd.Fd())) {
		return nil
	}
	return stderr
}

// exportSummary is the one line a run ends with on stderr.
func exportSummary(rep opscli.ExportReport) string {
	parts := make([]string, 0, len(rep.Counts))
	for _, k := range slices.Sorted(maps.Keys(rep.Counts)) {
		parts = append(parts, fmt.Sprintf("%d %s", rep.Counts[k], k))
	}
	return fmt.Sprintf("%d mailboxes: %s (since %s)", len(rep.Rows), strings.Join(parts, ", "), rep.Since.Format(time.RFC3339))
}
