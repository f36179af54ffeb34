package main

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/app"
	"github.com/idsync/idsync/internal/opscli"
	"github.com/idsync/idsync/internal/settings"
)

func newAudit(g *globals) *cobra.Command {
	var a opscli.AuditArgs
	var from, to string
	var since time.Duration
	var sources, kinds, targets, outcomes []string
	cmd := &cobra.Command{
		Use:   "audit (--person LOGIN|OKTA_ID|IDC_ID | --system | --from T [--to T] | --since D) [--follow] [filters]",
		Short: "Print ledger rows: a person's, the system's, or everyone's in a time range; audit explain tells one fact's story",
		Long: `Print ledger rows, oldest first, with the login beside each person key.

A person's rows are read under every key they were recorded under (their
Okta user id and IdC user id) and merged. --follow keeps printing new rows
until Ctrl-C; alone it follows everyone from now.`,
		Example: `  idsync audit --person ana.silva@example.com
  idsync audit --since 24h --outcome failed
  idsync audit --follow
  idsync audit explain 01JD7W9X6Y0ZQ3K4M5N6P7R8S9`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if a.Format, err = opscli.ParseFormat(g.output); err != nil {
				return err
			}
			if a.From, a.To, err = timeRange(from, to, since); err != nil {
				return err
			}
			a.Sources, a.Kinds = convert[domain.Source](sources), convert[domain.Kind](kinds)
			a.Targets, a.Outcomes = convert[domain.Target](targets), convert[domain.Outcome](outcomes)
			st, err := operatorApp(cmd, g)
			if err != nil {
				return err
			}
			return opscli.Audit(cmd.Context(), st.Store, cmd.OutOrStdout(), a)
		},
	}
	f := cmd.Flags()
	f.StringVar(&a.Person, "person", "", "a login, Okta user id or IdC user id")
	f.BoolVar(&a.System, "system", false, "rows about no one person (snapshot runs, undecodable messages)")
	f.StringVar(&from, "from", "", "start time, RFC 3339 or YYYY-MM-DD (inclusive)")
	f.StringVar(&to, "to", "", "end time, RFC 3339 or YYYY-MM-DD (exclusive)")
	f.DurationVar(&since, "since", 0, "start this long ago (e.g. 24h, 90m); instead of --from")
	f.BoolVar(&a.Follow, "follow", false, "keep printing new rows until interrupted")
	f.StringSliceVar(&sources, "source", nil, "only these sources (okta-hook, idc-snapshot, replay)")
	f.StringSliceVar(&kinds, "kind", nil, "only these event kinds")
	f.StringSliceVar(&targets, "target", nil, "only these targets (workmail, connect)")
	f.StringSliceVar(&outcomes, "outcome", nil, "only these outcomes (received, applied, skipped, failed, would, snapshot-run)")
	f.IntVar(&a.Limit, "limit", 0, "print at most this many rows (0: all)")
	cmd.AddCommand(newExplain(g))
	return cmd
}

func newExplain(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "explain EVENT_ID",
		Short: "Tell one fact's whole story across targets: received, folded, planned, each op, outcome",
		Long: `Tell one fact's whole story across targets: when it was received and from
where, which of the person's fields and memberships carry it now, and for
each target what was planned, each op or attempt with its outcome, and the
outcome (committed, skipped, dead-lettered, retrying, pending).

EVENT_ID is the event id idsync audit prints in JSON (eventId) or the id of
a received row.`,
		Example: `  idsync audit explain 01JD7W9X6Y0ZQ3K4M5N6P7R8S9`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("%w: audit explain takes one EVENT_ID", opscli.ErrUsage)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := opscli.ParseFormat(g.output)
			if err != nil {
				return err
			}
			a, err := operatorApp(cmd, g)
			if err != nil {
				return err
			}
			var targets []domain.Target
			if a.Settings.HasConfig {
				targets = settings.Targets(a.Settings.Config)
			}
			return opscli.Explain(cmd.Context(), a.Store, cmd.OutOrStdout(), opscli.ExplainArgs{
				EventID: args[0], Targets: targets, Groups: opscli.GroupNames(a.Settings.Config), Format: format})
		},
	}
}

// operatorApp builds the App an operator command works through, from the
// environment and the settings file.
func operatorApp(cmd *cobra.Command, g *globals) (*app.App, error) {
	s, err := loadSettings(g, settings.Operator)
	if err != nil {
		return nil, err
	}
	return app.New(cmd.Context(), app.Options{Settings: s, Component: settings.Operator,
		Logger: slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
}

// loadSettings reads component c's settings from the environment and the
// settings file.
func loadSettings(g *globals, c settings.Component) (settings.Settings, error) {
	getenv, err := settings.LoadFile(g.envFile, os.Getenv)
	if err != nil {
		return settings.Settings{}, fmt.Errorf("%w: %w", opscli.ErrUsage, err)
	}
	s, err := settings.FromEnv(getenv, c)
	if err != nil {
		return s, fmt.Errorf("%w: %w (set them, or run make run first for %s)", opscli.ErrUsage, err, g.envFile)
	}
	return s, nil
}

func convert[T ~string](vs []string) []T {
	out := make([]T, len(vs))
	for i, v := range vs {
		out[i] = T(v)
	}
	return out
}

// timeRange reads --from, --to (RFC 3339 or a date) and --since (a
// duration back from now, instead of --from).
//
// Errors: ErrUsage for a malformed time or --since with --from.
func timeRange(from, to string, since time.Duration) (time.Time, time.Time, error) {
	f, err := parseTime(from)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	t, err := parseTime(to)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	if since > 0 {
		if !f.IsZero() {
			return time.Time{}, time.Time{}, fmt.Errorf("%w: --since and --from exclude each other", opscli.ErrUsage)
		}
		f = time.Now().Add(-since)
	}
	return f, t, nil
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: %q is not RFC 3339 or YYYY-MM-DD", opscli.ErrUsage, s)
}
